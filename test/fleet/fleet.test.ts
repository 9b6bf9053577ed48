/**
 * Issue 11, must show: three instances on one PostgreSQL database and one SMTP server on loopback
 * mail 3,000 volunteers. During sending the test SIGKILLs a sending instance twice (and restarts
 * it, as a process manager would), terminates every database connection twice, and stops the SMTP
 * server for longer than the retry budget (retry timings made short by configuration). At the end
 * every volunteer has exactly one notice (a repeat only of a notice a killed instance had sent
 * and not yet recorded, at most SEND_CONCURRENCY per kill; any other at most 1 in 1,000), no
 * instance died from the database faults, the fleet's mail rate never exceeded MAIL_RATE_PER_SEC,
 * the gap after each kill was under 10 s, and the work was spread (per-instance /metrics).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../helpers/db.js';
import { startSmtpServer, startTcpGate, type TcpGate, type TestSmtpServer } from '../platform/smtp-server.js';
import { waitFor } from '../platform/helpers.js';
import {
  FLEET_ADMIN,
  jobsHeldBy,
  killInstance,
  maxInWindow,
  noticesSentBy,
  seedCall,
  startInstance,
  tally,
  tcpPortsTo,
  terminateConnections,
  type Instance,
} from './fleet-helpers.js';
import { SEND_CONCURRENCY } from '../../src/modules/certificates/sending.js';

const N = 3000;
const RATE = 60;

describe.runIf(testDialects().includes('postgres'))('a fleet of three instances on PostgreSQL', () => {
  let smtp: TestSmtpServer | undefined;
  let gate: TcpGate | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const instances: Instance[] = [];
  afterAll(async () => {
    for (const i of instances) await killInstance(i);
    await gate?.close();
    await smtp?.close();
    await database?.drop();
  });

  it('mails 3,000 volunteers once each through kills, dropped connections and an SMTP outage', async () => {
    smtp = await startSmtpServer();
    gate = await startTcpGate(smtp.port);
    database = await createTestDatabase('postgres', '/tmp');
    const url = database.config.dialect === 'postgres' ? database.config.url : '';
    const dbName = new URL(url).pathname.slice(1);
    const env = {
      DATABASE_URL: url,
      SECRET_KEY: randomBytes(32).toString('base64'),
      PUBLIC_URL: 'http://vh.test',
      SMTP_URL: gate.url,
      MAIL_RATE_PER_SEC: String(RATE),
      // The retry budget of a notice: 3 attempts 100-200 ms apart; probes every 100-800 ms.
      MAIL_RETRY_MS: '100',
      MAIL_RETRY_MAX_MS: '200',
      MAIL_RETRY_ATTEMPTS: '3',
      MAIL_PROBE_MAX_MS: '800',
      JOB_LEASE_MS: '4000',
    };
    // Started together on an empty database (the first one migrates).
    instances.push(...(await Promise.all(['a', 'b', 'c'].map((n) => startInstance(n, env)))));
    const emails = Array.from({ length: N }, (_, i) => `vol${i}@example.org`);
    const added = await seedCall(instances[0]!, '/api/addUserData', { token: FLEET_ADMIN, email: emails });
    expect(added.data.added).toBe(N);
    expect((await seedCall(instances[1]!, '/api/email', { token: FLEET_ADMIN, action: 'send' })).data.queued).toBe(N);

    const received = smtp.received;
    const gaps: number[] = [];
    const takeovers: number[] = [];
    /** Each kill: when the killed instance had exited, and its connections through the gate (upstream port -> open since). */
    const kills: { at: number; conns: Map<number, number> }[] = [];
    const live = () => instances.filter((i) => !i.killedOnPurpose);
    /** SIGKILLs the instance that sent most recently (by /metrics growth), restarts it, and measures the gap. */
    async function killASender(): Promise<void> {
      noDeaths();
      const before = await Promise.all(live().map(async (i) => ({ i, n: await noticesSentBy(i) })));
      await new Promise((r) => setTimeout(r, 300));
      const after = await Promise.all(before.map(async ({ i, n }) => ({ i, d: (await noticesSentBy(i)) - n })));
      const victim = after.sort((x, y) => y.d - x.d)[0]!.i;
      const pid = victim.child.pid!;
      const ports = tcpPortsTo(pid, gate!.port);
      const conns = new Map(gate!.open().flatMap((c) => (ports.has(c.clientPort) ? [[c.upstreamPort, c.since] as const] : [])));
      const t = Date.now();
      await killInstance(victim);
      kills.push({ at: Date.now(), conns });
      const seen = received.length;
      await waitFor(() => received.length > seen, 30_000, 'mail after the kill');
      gaps.push(received.at(-1)!.at! - t);
      // The dead instance's batches are taken up by the others once their leases run out.
      await waitFor(async () => (await jobsHeldBy(url, pid)) === 0, 30_000, "the dead instance's jobs to be taken up");
      takeovers.push(Date.now() - t);
      // The process manager restarts it.
      instances.push(await startInstance(`${victim.name}'`, env));
    }
    /** Fails at once when an instance died by itself (a database fault must not end a process). */
    const noDeaths = () => {
      const dead = instances.find((i) => i.diedUnexpectedly);
      if (dead) throw new Error(`instance ${dead.name} died (${JSON.stringify(dead.diedUnexpectedly)}): ${dead.stderr.slice(-1500)}`);
    };
    const sent = (n: number) =>
      waitFor(
        () => {
          noDeaths();
          return received.length >= n;
        },
        120_000,
        `${n} notices`,
      );

    await sent(300);
    await killASender();
    await sent(700);
    expect(await terminateConnections(dbName)).toBeGreaterThan(0);
    await sent(1100);
    await killASender();
    await sent(1500);
    expect(await terminateConnections(dbName)).toBeGreaterThan(0);
    await sent(1900);
    // The SMTP server is gone for 4 s: many times the whole retry budget of a notice.
    await gate.down({ graceful: true });
    const outage = await waitFor(
      async () => {
        const q = await seedCall(live()[0]!, '/api/email', { token: FLEET_ADMIN, action: 'query' });
        return q.data?.outage ? q.data : undefined;
      },
      30_000,
      'the outage to show',
    );
    expect(outage.outage.reason).toBeTruthy();
    await new Promise((r) => setTimeout(r, 4000));
    await gate.up();

    const done = await waitFor(
      async () => {
        const q = await seedCall(live()[0]!, '/api/email', { token: FLEET_ADMIN, action: 'query' });
        return q.data?.sending === false ? q.data : undefined;
      },
      240_000,
      'sending to finish',
    );
    expect(done.counts['1']).toBe(N);
    expect(done.failed.count).toBe(0);

    const { rcpts, duplicates } = tally(received);
    expect(rcpts.size).toBe(N);
    // Duplicates. A notice goes again when its sender died after the SMTP server accepted it and
    // before "sent" was written (at-least-once, the same Message-ID): a SIGKILL can repeat each
    // notice the killed instance had in flight, at most SEND_CONCURRENCY, and how many it had is a
    // matter of timing (the machine's load stretches the moment between the server's 250 and the
    // write). Anything else (a database fault, the SMTP outage, a batch taken over) must not
    // repeat a notice: such repeats are held to the 1 in 1,000 (the one a sender cannot
    // avoid: a 250 lost with its connection). A repeat is a kill's when the copy before it came
    // over one of the connections the killed instance had open through the gate, and it came after.
    type Copy = (typeof received)[number];
    const killOf = (m: Copy, repeat: Copy) =>
      kills.findIndex((k) => m.at! <= k.at && repeat.at! > k.at && (k.conns.get(m.remotePort!) ?? Infinity) <= m.at!);
    const byId = new Map<string, typeof received>();
    for (const m of received) {
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1] ?? '?';
      byId.set(id, [...(byId.get(id) ?? []), m]);
    }
    const perKill = kills.map(() => 0);
    const otherwise: string[] = [];
    for (const [id, copies] of byId) {
      copies.sort((a, b) => a.at! - b.at!);
      for (let i = 1; i < copies.length; i++) {
        const k = killOf(copies[i - 1]!, copies[i]!);
        if (k >= 0) perKill[k]!++;
        else otherwise.push(`${id} at ${copies[i - 1]!.at} and ${copies[i]!.at} (kills at ${kills.map((x) => x.at).join(', ')})`);
      }
    }
    console.log(
      `fleet: ${received.length} messages, ${duplicates} duplicate(s) by Message-ID: ${perKill.join(' and ')} by the kills, ` +
        `${otherwise.length} otherwise; gaps after kills ${gaps.join(', ')} ms`,
    );
    for (const n of perKill) expect(n).toBeLessThanOrEqual(SEND_CONCURRENCY);
    expect(otherwise.length, otherwise.join('; ')).toBeLessThanOrEqual(N / 1000);
    // No instance died from the database faults (the two killed on purpose were restarted).
    for (const i of instances) expect(i.diedUnexpectedly, `${i.name}: ${i.stderr.slice(-1500)}`).toBeUndefined();
    console.log(`fleet: the dead instance's jobs were taken up after ${takeovers.join(', ')} ms`);
    for (const g of gaps) expect(g).toBeLessThan(10_000);
    for (const g of takeovers) expect(g).toBeLessThan(10_000);
    // The fleet's rate, by the SMTP server's receive times: no 5 s window held more than the limit
    // allows (plus a tenth of a second's worth). Not 1 s: this process (the SMTP server's clock)
    // and the instances share two cores with PostgreSQL, and a stall of several hundred ms on
    // either side delivers a run of correctly spaced sends together; over 5 s that evens out.
    // The pace itself spaces slots for 90% of the rate (platform/mail/pacing.ts).
    const times = received.map((m) => m.at!).sort((x, y) => x - y);
    const most = maxInWindow(times, 5000);
    console.log(
      `fleet: most notices in any 5 s: ${most} (limit ${5 * RATE}); in any 2 s: ${maxInWindow(times, 2000)}; in any 1 s: ${maxInWindow(times, 1000)}`,
    );
    expect(most).toBeLessThanOrEqual(5 * RATE + Math.ceil(RATE / 10));
    // The work was spread: the surviving instances each sent some.
    const per = await Promise.all(live().map((i) => noticesSentBy(i)));
    console.log(`fleet: notices per live instance (since its start): ${per.join(', ')}`);
    expect(per.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
