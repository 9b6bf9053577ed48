/**
 * Notices per second from a fleet on PostgreSQL: the real server (`src/main.ts serve`) with one and
 * with three instances on one database, mailing N volunteers (batch jobs any instance takes, the
 * pace and quota in the database) into a loopback SMTP server. The floor, measured in the same
 * run: nodemailer alone (pooled, 16 in flight) into the same server, no database at all. Figures
 * are printed as notices/s and as ratios to that floor.
 *
 *   npm run bench -- fleet      (FLEET_BENCH_N=2000 to tune)
 */
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { createTestDatabase } from '../test/helpers/db.js';
import { startSmtpServer } from '../test/platform/smtp-server.js';
import { FLEET_ADMIN, killInstance, seedCall, startInstance, type Instance } from '../test/fleet/fleet-helpers.js';
import { report, writeResults } from './lib.js';

const N = Number(process.env.FLEET_BENCH_N ?? 2000);
const results: Record<string, unknown> = { n: N };
const smtp = await startSmtpServer({ keep: false });

async function floor(): Promise<number> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtp.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 5,
    maxMessages: 1000,
  });
  const before = smtp.attempts;
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      await t.sendMail({
        from: 'bench@example.org',
        to: `v${i}@example.org`,
        subject: `notice ${i}`,
        html: `<p>Dear volunteer ${i}, claim your certificate.</p>`,
        messageId: `<floor.${i}@bench>`,
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.close();
  if (smtp.attempts - before !== N) throw new Error('the floor lost messages');
  return N / ((performance.now() - t0) / 1000);
}

async function fleet(size: number): Promise<number> {
  const database = await createTestDatabase('postgres', '/tmp');
  const url = database.config.dialect === 'postgres' ? database.config.url : '';
  const env = {
    DATABASE_URL: url,
    SECRET_KEY: randomBytes(32).toString('base64'),
    PUBLIC_URL: 'http://vh.bench',
    SMTP_URL: smtp.url,
    LOG_LEVEL: 'error',
  };
  const instances: Instance[] = [];
  try {
    // The first migrates; the others start on the migrated database.
    instances.push(await startInstance('1', env));
    instances.push(...(await Promise.all(Array.from({ length: size - 1 }, (_, i) => startInstance(String(i + 2), env)))));
    const emails = Array.from({ length: N }, (_, i) => `vol${i}@example.org`);
    const added = await seedCall(instances[0]!, '/api/addUserData', { token: FLEET_ADMIN, email: emails });
    if (added.data?.added !== N) throw new Error(`import: ${JSON.stringify(added).slice(0, 300)}`);
    const before = smtp.attempts;
    const t0 = performance.now();
    await seedCall(instances[0]!, '/api/email', { token: FLEET_ADMIN, action: 'send' });
    while (smtp.attempts - before < N) await new Promise((r) => setTimeout(r, 50));
    return N / ((performance.now() - t0) / 1000);
  } finally {
    for (const i of instances) await killInstance(i);
    await database.drop();
  }
}

const base = await floor();
report(results, 'floor_nodemailer_msgs_per_s', Math.round(base));
const one = await fleet(1);
report(results, 'fleet_1_instance_notices_per_s', Math.round(one));
report(results, 'fleet_1_instance_ratio_to_floor', Number((one / base).toFixed(3)));
const three = await fleet(3);
report(results, 'fleet_3_instances_notices_per_s', Math.round(three));
report(results, 'fleet_3_instances_ratio_to_floor', Number((three / base).toFixed(3)));
report(results, 'fleet_3_over_1', Number((three / one).toFixed(2)));
writeResults('fleet', results);
await smtp.close();
process.exit(0);
