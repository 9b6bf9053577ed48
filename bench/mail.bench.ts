/**
 * Outbound mail throughput on SQLite: notices through the Mailer into a loopback SMTP server
 * (smtp-server, no auth, no TLS, in a child process so it does not share our event loop).
 * Figures: messages/s for 5,000 mails sent directly (`mailer.send`, 50 in flight), messages/s for
 * 5,000 mails through the durable outbox (`mailer.enqueue` -> `mail.send` jobs), peak RSS, and
 * the raw job runner's throughput with no-op jobs.
 *
 *   npm run bench -- mail        (MAIL_BENCH_N=5000, MAIL_POOL=5x1000 to tune)
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/index.js';
import { migrateToLatest } from '../src/platform/db/migrate.js';
import { createJobQueue } from '../src/platform/jobs/index.js';
import { createLogger } from '../src/platform/logger.js';
import { createMailer, type OutgoingMail } from '../src/platform/mail/index.js';
import { report, writeResults, SINK_SMTP_OPTIONS } from './lib.js';

const N = Number(process.env.MAIL_BENCH_N ?? 5000);
const [conns, perConn] = (process.env.MAIL_POOL ?? '5x1000').split('x').map(Number) as [number, number];

if (process.argv[2] === 'sink') {
  // The SMTP server, in its own process: counts accepted messages, reports on request.
  const { SMTPServer } = await import('smtp-server');
  let accepted = 0;
  const server = new SMTPServer({
    ...SINK_SMTP_OPTIONS,
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        accepted++;
        cb(null, `Ok: queued as ${accepted}`);
      });
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on('message', () => process.send!({ accepted }));
} else {
  await main();
}

function notice(i: number, run: string): OutgoingMail {
  return {
    to: `volunteer${i}@example.org`,
    subject: `Claim your certificate, volunteer ${i}`,
    html: `<p>Dear volunteer ${i},</p><p>Thank you for your help. Confirm the name to print on your certificate:</p><p><a href="http://localhost:5000/certificate?token=${'x'.repeat(22)}${i}">claim your certificate</a></p><p>The organizers</p>`,
    text: `Dear volunteer ${i}, claim your certificate: http://localhost:5000/certificate?token=${'x'.repeat(22)}${i}`,
    messageId: `<notice.${run}.${i}.1@volunteer-hub.bench>`,
  };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { n: N, pool: `${conns}x${perConn}` };
  const sink = fork(fileURLToPath(import.meta.url), ['sink'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const port = await new Promise<number>((r) => sink.once('message', (m: { port: number }) => r(m.port)));
  const accepted = () =>
    new Promise<number>((r) => {
      sink.once('message', (m: { accepted: number }) => r(m.accepted));
      sink.send('count');
    });

  const dir = mkdtempSync(join(tmpdir(), 'vh-bench-mail-'));
  const handle = openDatabase({ dialect: 'sqlite', file: join(dir, 'bench.sqlite') });
  await migrateToLatest(handle.db);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const config = parseConfig({ DATA_DIR: dir, SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Volunteers <noreply@example.org>' });
  const jobs = createJobQueue(handle, { logger, concurrency: 4 });
  const mailer = createMailer({
    config,
    handle,
    jobs,
    logger,
    pool: { maxConnections: conns, maxMessages: perConn },
    sendConcurrency: Number(process.env.MAIL_SEND_CONCURRENCY ?? conns * 4),
  });

  report(results, 'RSS before sending MB', Math.round(process.memoryUsage().rss / 1024 / 1024));
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  // Warm-up: open the pool's connections.
  await Promise.all(Array.from({ length: conns }, (_, i) => mailer.send(notice(i, 'warm'))));

  // 0. Reference: nodemailer alone, same pool, same messages, same server.
  {
    const { default: nodemailer } = await import('nodemailer');
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: conns, maxMessages: perConn });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < N) {
          const m = notice(next++, 'ref');
          await t.sendMail({ ...m, from: 'Volunteers <noreply@example.org>' });
        }
      }),
    );
    report(results, 'reference: nodemailer alone msgs/s', Math.round(N / ((performance.now() - t0) / 1000)));
    t.close();
  }

  // 1. Direct sends, 50 in flight.
  {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < N) await mailer.send(notice(next++, 'direct'));
      }),
    );
    const s = (performance.now() - t0) / 1000;
    report(results, 'direct send (mailer.send, 50 in flight) msgs/s', Math.round(N / s));
  }

  // 1b. Direct sends with a global daily limit and a per-campaign quota (the durable counting path).
  {
    const limited = createMailer({
      config: parseConfig({ DATA_DIR: dir, SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_DAILY_LIMIT: '1000000' }),
      handle,
      jobs: createJobQueue(handle, { logger, concurrency: 1 }),
      logger,
      pool: { maxConnections: conns, maxMessages: perConn },
    });
    const pacing = { key: 'campaign:1', dailyLimit: 1_000_000 };
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < N) await limited.send({ ...notice(next++, 'quota'), pacing });
      }),
    );
    report(results, 'direct send with daily limits (global + campaign) msgs/s', Math.round(N / ((performance.now() - t0) / 1000)));
    await limited.close();
  }

  // 2. Through the durable outbox: enqueue all in one transaction, then let the runner deliver.
  {
    const before = await accepted();
    const t0 = performance.now();
    await handle.db.transaction().execute(async (trx) => {
      for (let i = 0; i < N; i++) await mailer.enqueue(notice(i, 'outbox'), { trx });
    });
    const tEnq = performance.now();
    await jobs.start();
    while ((await accepted()) - before < N) await new Promise((r) => setTimeout(r, 20));
    const t1 = performance.now();
    report(results, 'outbox enqueue (one transaction) mails/s', Math.round(N / ((tEnq - t0) / 1000)));
    report(results, 'outbox delivery (mail.send jobs) msgs/s', Math.round(N / ((t1 - tEnq) / 1000)));
    await jobs.stop(5000);
  }
  report(results, 'peak RSS MB', Math.round(peakRss / 1024 / 1024));

  // 3. The runner alone: no-op jobs.
  {
    const q = createJobQueue(handle, { logger, concurrency: 8 });
    let done = 0;
    q.define('bench.noop', { concurrency: 8, handler: async () => void done++ });
    await handle.db.transaction().execute(async (trx) => {
      for (let i = 0; i < N; i++) await q.enqueue('bench.noop', { i }, { trx });
    });
    const t0 = performance.now();
    await q.start();
    while (done < N) await new Promise((r) => setTimeout(r, 10));
    report(results, 'job runner no-op jobs/s (SQLite, concurrency 8)', Math.round(N / ((performance.now() - t0) / 1000)));
    await q.stop(5000);
  }

  clearInterval(sampler);
  report(results, 'smtp accepted', await accepted());
  await mailer.close();
  await handle.close();
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
  writeResults('mail', results);
}
