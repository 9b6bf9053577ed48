/**
 * Issue 11, item 9, with a real process: on SIGTERM the server stops accepting connections,
 * finishes the requests in flight (here: mini-program logins held open by a fake WeChat on
 * loopback), answers a request that still arrives on an open connection with 503 in its own
 * API's envelope (not Fastify's default body), and exits 0. Past SHUTDOWN_GRACE_MS a stuck
 * request is cut and the process still ends.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';
import { startInstance, type Instance } from '../helpers/instance.js';
import { probes } from './probes.js';

const started: Instance[] = [];
const fakes: FakeWechat[] = [];
afterAll(async () => {
  await Promise.all(started.map((i) => i.stop('SIGKILL')));
  await Promise.all(fakes.map((f) => f.close()));
});

/** A fake WeChat whose jscode2session answers only when the test releases that js_code. */
async function heldWechat() {
  const fake = await startFakeWechat();
  fakes.push(fake);
  const waiting = new Map<string, () => void>();
  const arrived = new Set<string>();
  fake.on('/sns/jscode2session', async (req) => {
    const code = req.query.js_code!;
    arrived.add(code);
    await new Promise<void>((resolve) => waiting.set(code, resolve));
    return { openid: `o-${code}-0000000000`, session_key: 'c2Vzc2lvbmtleXNlc3Npb25rZXk=' };
  });
  return {
    fake,
    arrived: (code: string) => arrived.has(code),
    release: (code: string) => waiting.get(code)?.(),
  };
}

/** One keep-alive HTTP/1.1 connection, read answer by answer. */
function conn(port: number) {
  const s: Socket = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let closed = false;
  s.on('data', (d) => (buf = Buffer.concat([buf, d])));
  s.on('close', () => (closed = true));
  s.on('error', () => (closed = true));
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const h = {
      host: `127.0.0.1:${port}`,
      connection: 'keep-alive',
      ...headers,
      ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    };
    s.write(
      `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n${body ?? ''}`,
    );
  };
  /** The next complete answer (content-length framed, as Fastify sends JSON). */
  const answer = async () => {
    for (let i = 0; ; i++) {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = text.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length >= end + 4 + len) {
          const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
          buf = buf.subarray(end + 4 + len);
          const headers = Object.fromEntries(
            head
              .split('\r\n')
              .slice(1)
              .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          );
          return { status: Number(head.split(' ')[1]), headers, body: JSON.parse(body) };
        }
      }
      if (closed) throw new Error(`connection closed before an answer: ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { send, answer, closed: () => closed, destroy: () => s.destroy() };
}

const login = (code: string) => JSON.stringify({ js_code: code });

describe('SIGTERM (issue 11.9)', { timeout: 180_000 }, () => {
  it('finishes requests in flight, answers late ones 503 in their own envelope, refuses new connections, exits 0', async () => {
    const w = await heldWechat();
    const inst = await startInstance({
      WECHAT_API_BASE: w.fake.url,
      WECHAT_API_TIMEOUT_MS: '60000',
      WECHAT_MINIPROGRAM_APPID: 'wx0123456789abcdef',
      WECHAT_MINIPROGRAM_SECRET: 'secret-0123456789',
      SHUTDOWN_GRACE_MS: '600000',
      LOG_LEVEL: 'info',
    });
    started.push(inst);
    await inst.waitHealthy();
    // One connection per late request (the 503 closes its connection), plus /healthz, plus one
    // more whose request stays in flight longest.
    const late = [...probes.map((p) => p.name), 'healthz'];
    const conns = late.map(() => conn(inst.port));
    const last = conn(inst.port);
    conns.forEach((c, i) => c.send('POST', '/service/user/getOpenid', { 'content-type': 'application/json' }, login(`c${i}`)));
    last.send('POST', '/service/user/getOpenid', { 'content-type': 'application/json' }, login('last'));
    await expect.poll(() => late.every((_, i) => w.arrived(`c${i}`)) && w.arrived('last'), { timeout: 30_000 }).toBe(true);

    inst.child.kill('SIGTERM');
    // It stops accepting: a new connection is refused.
    await expect
      .poll(
        async () =>
          fetch(`${inst.url}/healthz`).then(
            () => 'accepted',
            (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
          ),
        { timeout: 30_000 },
      )
      .toBe('ECONNREFUSED');

    // Requests arriving meanwhile on open connections (pipelined behind the ones in flight):
    // 503 in their own API's envelope, and the connection closed after.
    for (const [i, p] of probes.entries()) {
      const probe = await captureProbe(p.name);
      conns[i]!.send(probe.method, probe.path, probe.headers, probe.body);
    }
    conns[probes.length]!.send('GET', '/healthz');
    // The requests in flight finish normally.
    late.forEach((_, i) => w.release(`c${i}`));
    for (const c of conns) {
      const a = await c.answer();
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ code: 0, data: { openid: expect.any(String), token: expect.any(String) } });
    }
    for (const [i, p] of probes.entries()) {
      const a = await conns[i]!.answer();
      expect(a.headers.connection).toBe('close');
      p.expectUnavailable({ status: a.status, body: a.body, retryAfter: a.headers['retry-after'] ?? null });
      expect(JSON.stringify(a.body)).toMatch(/shutting down/);
      expect(a.body).not.toHaveProperty('statusCode');
    }
    const h = await conns[probes.length]!.answer();
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: 'unavailable', reason: 'shutting down' });

    expect(inst.exitCode()).toBeUndefined();
    w.release('last');
    const a = await last.answer();
    expect(a.status).toBe(200);
    // Nothing holds the stop once the last request is answered (the grace period is 10 min; an idle keep-alive connection would hold it 72 s).
    const t0 = Date.now();
    expect(await inst.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(inst.output()).toContain('shutting down');
  });

  it('cuts a request still running after SHUTDOWN_GRACE_MS and ends', async () => {
    const w = await heldWechat();
    const inst = await startInstance({
      WECHAT_API_BASE: w.fake.url,
      WECHAT_API_TIMEOUT_MS: '60000',
      WECHAT_MINIPROGRAM_APPID: 'wx0123456789abcdef',
      WECHAT_MINIPROGRAM_SECRET: 'secret-0123456789',
      SHUTDOWN_GRACE_MS: '1500',
      LOG_LEVEL: 'info',
    });
    started.push(inst);
    await inst.waitHealthy();
    const c = conn(inst.port);
    c.send('POST', '/service/user/getOpenid', { 'content-type': 'application/json' }, login('stuck'));
    await expect.poll(() => w.arrived('stuck'), { timeout: 30_000 }).toBe(true);
    inst.child.kill('SIGTERM');
    expect(await inst.exited).toBe(0);
    await expect.poll(() => c.closed()).toBe(true);
    expect(inst.output()).toContain('shutdown grace period over');
  });
});

/** The raw request a probe sends (probes.ts speaks fetch; here we write it on a socket). */
async function captureProbe(name: string): Promise<{ method: string; path: string; headers: Record<string, string>; body?: string }> {
  let captured: { method: string; path: string; headers: Record<string, string>; body?: string } | undefined;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (url: string, init: RequestInit = {}) => {
    const u = new URL(url);
    captured = {
      method: init.method ?? 'GET',
      path: u.pathname + u.search,
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body as string | undefined,
    };
    return new Response('{}', { status: 200 });
  }) as typeof fetch;
  try {
    await probes.find((p) => p.name === name)!.send('http://127.0.0.1:1');
  } finally {
    globalThis.fetch = realFetch;
  }
  return captured!;
}
