/**
 * A fake of WeChat's server API on loopback: a real HTTP server whose answers tests choose per
 * path. Point WECHAT_API_BASE at `fake.url`. Every request is recorded (method, path, query,
 * body) so tests can assert what was called.
 *
 *   const fake = await startFakeWechat();
 *   fake.on('/sns/jscode2session', (req) => ({ openid: 'o1', session_key: 'k' }));
 *   fake.on('/sns/jscode2session', async () => { await sleep(5000); return {...} }); // slow answer
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: string;
  json(): any;
}

/** A handler answers a JSON value, or `{ status, body, contentType }` for a raw answer. */
export type FakeHandler = (req: FakeRequest) => unknown; // a value or a promise of one

export interface RawAnswer {
  raw: true;
  status?: number;
  body: string | Buffer;
  contentType?: string;
}

export interface FakeWechat {
  url: string;
  requests: FakeRequest[];
  on(path: string, handler: FakeHandler): void;
  /** Requests recorded for a path. */
  calls(path: string): FakeRequest[];
  close(): Promise<void>;
}

export async function startFakeWechat(): Promise<FakeWechat> {
  const handlers = new Map<string, FakeHandler>();
  const requests: FakeRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://fake');
    const body = Buffer.concat(chunks).toString('utf8');
    const fr: FakeRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      body,
      json: () => JSON.parse(body),
    };
    requests.push(fr);
    const h = handlers.get(u.pathname);
    if (!h) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 40001, errmsg: `fake wechat: no handler for ${u.pathname}` }));
      return;
    }
    try {
      const out = await h(fr);
      if (out && typeof out === 'object' && (out as RawAnswer).raw) {
        const r = out as RawAnswer;
        res.writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/octet-stream' });
        res.end(r.body);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? { errcode: 0, errmsg: 'ok' }));
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    on(path, handler) {
      handlers.set(path, handler);
    },
    calls(path) {
      return requests.filter((r) => r.path === path);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
