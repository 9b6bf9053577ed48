/**
 * Certificates on SQLite, one process, 100,000 volunteers in the campaign:
 * - import of 100,000 lines through addUserData in batches of 10,000 (target < 3 s in all);
 * - getUserInfo under 32 connections (target >= 8,000 req/s, p99 < 20 ms);
 * - notices into a loopback SMTP server (target >= 400/s, RSS < 250 MB while sending);
 * - claims from submit to the certificate accepted by SMTP on a 750x1200 template, 8 concurrent
 *   clients (target median < 60 ms, >= 30 claims/s).
 * The SMTP server runs in a child process (it must not share our event loop); it reports the
 * moment it accepts each certificate mail.
 *
 *   npm run bench -- certificates      (CERT_BENCH_NOTICES=10000, CERT_BENCH_CLAIMS=400 to tune)
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCanvas } from '@napi-rs/canvas';
import { hashToken, randomToken } from '../src/platform/crypto/tokens.js';
import { startTestApp } from '../test/helpers/app.js';
import { load, report, writeResults } from './lib.js';

const NOTICES = Number(process.env.CERT_BENCH_NOTICES ?? 10_000);
const CLAIMS = Number(process.env.CERT_BENCH_CLAIMS ?? 400);

if (process.argv[2] === 'sink') {
  const { SMTPServer } = await import('smtp-server');
  let notices = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 200,
    onData(stream, _s, cb) {
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 4096) head += c.toString('latin1');
      });
      stream.on('end', () => {
        const id = /Message-ID:\s*<([^>]+)>/i.exec(head)?.[1] ?? '';
        if (id.startsWith('certificate.')) process.send!({ cert: id.split('.')[1], at: Date.now() });
        else notices++;
        cb(null, 'Ok');
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on('message', (m: { count?: boolean }) => {
    if (m.count) process.send!({ notices });
  });
} else {
  await main();
}

async function main() {
  const results: Record<string, unknown> = {};
  const sink: ChildProcess = fork(fileURLToPath(import.meta.url), ['sink'], { execArgv: ['--import', 'tsx'] });
  const certAccepted = new Map<number, number>();
  let noticeCount = 0;
  const port = await new Promise<number>((resolve) => {
    sink.on('message', (m: { port?: number; cert?: string; at?: number; notices?: number }) => {
      if (m.port) resolve(m.port);
      if (m.cert) certAccepted.set(Number(m.cert), m.at!);
      if (m.notices !== undefined) noticeCount = m.notices;
    });
  });
  const countNotices = async () => {
    sink.send({ count: true });
    await new Promise((r) => setTimeout(r, 20));
    return noticeCount;
  };

  const t = await startTestApp({ dialect: 'sqlite', env: { SMTP_URL: `smtp://127.0.0.1:${port}`, LOG_LEVEL: 'warn', PUBLIC_URL: 'http://bench.test' } });
  const base = await t.listen();
  const ADMIN = 'test-admin-token';
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
    (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).json()) as { code: number; data: any };
  try {
    // 1. Import 100,000 volunteers in batches of 10,000.
    const t0 = performance.now();
    let added = 0;
    for (let b = 0; b < 10; b++) {
      const email = Array.from({ length: 10_000 }, (_, i) => `volunteer${b * 10_000 + i}@example.org,NO-${b * 10_000 + i}`);
      added += (await post('/api/addUserData', { token: ADMIN, email })).data.added;
    }
    report(results, 'import_100k_seconds', Number(((performance.now() - t0) / 1000).toFixed(2)));
    if (added !== 100_000) throw new Error(`imported ${added}`);

    // 2. Notices: a campaign of NOTICES volunteers, mailed through the send job.
    const auth = { authorization: `Bearer ${ADMIN}` };
    await post('/api/v2/certificates/campaigns', { name: 'Notices', slug: 'notices' }, auth);
    for (let i = 0; i < NOTICES; i += 10_000) {
      const email = Array.from({ length: Math.min(10_000, NOTICES - i) }, (_, j) => `n${i + j}@example.org`);
      await post('/api/addUserData', { token: ADMIN, email, campaign: 'notices' });
    }
    report(results, 'rss_before_sending_mb', Math.round(process.memoryUsage().rss / 1024 / 1024));
    let peakRss = 0;
    const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const before = await countNotices();
    const s0 = performance.now();
    await post('/api/email', { token: ADMIN, action: 'send', campaign: 'notices' });
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      if ((await countNotices()) - before >= NOTICES) break;
      if (performance.now() - s0 > 300_000) throw new Error('notices took more than 5 minutes');
    }
    const secs = (performance.now() - s0) / 1000;
    clearInterval(rssTimer);
    report(results, 'notices_per_second', Math.round(NOTICES / secs));
    report(results, 'notices_peak_rss_mb', Math.round(peakRss / 1024 / 1024));

    // Link tokens for 20,000 of them (as the send job would write them).
    const tokens: string[] = [];
    const rows = await t.core.db.selectFrom('recipients').select('id').orderBy('id').limit(20_000).execute();
    await t.core.db.transaction().execute(async (trx) => {
      for (const r of rows) {
        const tok = randomToken(32);
        tokens.push(tok);
        await trx.updateTable('recipients').set({ token_hash: hashToken(tok), status: 1 }).where('id', '=', r.id).execute();
      }
    });

    // 3. getUserInfo under 32 connections.
    let k = 0;
    const lookups = await load({
      url: base,
      connections: 32,
      duration: 10,
      requests: [{ method: 'GET', path: '/api/getUserInfo?token=x', setupRequest: (req: any) => ({ ...req, path: `/api/getUserInfo?token=${tokens[k++ % 10_000]}` }) }],
    });
    report(results, 'getUserInfo', lookups);
    // For scale on this (shared) machine: a route that only answers from one trivial query.
    report(results, 'healthz_same_conditions', await load({ url: `${base}/healthz`, connections: 32, duration: 5 }));
    report(results, 'load_average', os.loadavg().map((x) => Number(x.toFixed(1))));

    // 4. Claims on a 750x1200 template with 8 concurrent clients.
    const c = createCanvas(750, 1200);
    const g = c.getContext('2d');
    g.fillStyle = '#fdf6e3';
    g.fillRect(0, 0, 750, 1200);
    g.fillStyle = '#b58900';
    g.fillRect(40, 40, 670, 20);
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(c.toBuffer('image/png'))]), 't.png');
    await fetch(`${base}/api/uploadImage`, { method: 'POST', body: form, headers: { Token: ADMIN } });
    const claimIds = rows.slice(10_000, 10_000 + CLAIMS).map((r) => r.id);
    const claimTokens = tokens.slice(10_000, 10_000 + CLAIMS);
    const submittedAt = new Map<number, number>();
    let next = 0;
    const c0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < CLAIMS) {
          const i = next++;
          submittedAt.set(claimIds[i], Date.now());
          const r = await post('/api/submitUserInfo', { token: claimTokens[i], name: `志愿者 Volunteer ${i}` });
          if (r.code !== 0) throw new Error(`claim ${i}: ${JSON.stringify(r)}`);
          // A client waits for its certificate before the next claim (so 8 claims are in flight).
          const id = claimIds[i];
          while (!certAccepted.has(id)) await new Promise((res) => setTimeout(res, 2));
        }
      }),
    );
    const claimSecs = (performance.now() - c0) / 1000;
    const lat = claimIds.map((id) => certAccepted.get(id)! - submittedAt.get(id)!).sort((a, b) => a - b);
    report(results, 'claim_latency_ms', { p50: lat[Math.floor(lat.length / 2)], p90: lat[Math.floor(lat.length * 0.9)], p99: lat[Math.floor(lat.length * 0.99)] });
    report(results, 'claims_per_second', Number((CLAIMS / claimSecs).toFixed(1)));
    writeResults('certificates', results);
  } finally {
    await t.close();
    sink.kill();
  }
}
