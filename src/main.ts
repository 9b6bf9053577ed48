/**
 * Entry point: `serve` (default) runs the HTTP service with its job runner; `migrate` brings the
 * schema up to date; modules add operator commands (see `--help`).
 */
// First: the V8 heap settings apply to everything loaded after them (only this entry loads
// heap-settings.ts: loading it sets V8's flag).
import './platform/heap-settings.js';
import './platform/tick-shape.js';
import 'dotenv/config';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { acquireInstanceLock, InstanceLockedError } from './platform/db/instance-lock.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import type { Core } from './platform/core.js';
import { buildApp, createAppCore, modules } from './app.js';
import { startBanner } from './platform/http/banner.js';
import { STARTUP_LOCK, withAdvisoryLock } from './platform/db/lock.js';
import { adminTokenWeakness } from './modules/certificates/admin-token.js';

function loadConfigOrExit(): Config {
  try {
    return parseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Stops `serve` when ADMIN_TOKEN is weak: it guards every volunteer's data (see adminTokenWeakness). */
async function refuseWeakAdminToken(config: Config): Promise<void> {
  if (!config.adminToken) return;
  const why = await adminTokenWeakness(config.adminToken);
  if (!why) return;
  process.stderr.write(
    `Refusing to start: ADMIN_TOKEN is too weak to guard the organizer console: ${why}.\n` +
      `Anyone who guesses it can read every volunteer's data and send mail in your name.\n` +
      `Set a long random one, e.g.  ADMIN_TOKEN=$(node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")\n` +
      `or remove ADMIN_TOKEN to have one generated (printed once at the first start).\n`,
  );
  process.exit(2);
}

/** Loopback addresses: a service bound only there is reachable from this machine alone. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '::ffff:127.0.0.1';
}

/** What an operator must hear at start: settings that leave private data or limits exposed. */
function startupWarnings(config: Config): string[] {
  const out: string[] = [];
  const exposed = !isLoopbackHost(config.host);
  if (exposed && !config.isSmtpConfigured) {
    out.push(
      `HOST=${config.host} is reachable from other machines but SMTP_URL is not set: no mail reaches anyone, and every claim link, ` +
        'activation link and recovery code is kept in the dev mailbox (/dev/mail, admin token required). Set SMTP_URL before real use.',
    );
  }
  if (exposed && (config.trustProxy === true || typeof config.trustProxy === 'number')) {
    out.push(
      `TRUST_PROXY=${String(config.trustProxy)} believes X-Forwarded-For from whoever connects, and HOST=${config.host} lets clients connect directly: ` +
        'they can pick their own address and escape per-client limits. Bind HOST to loopback behind the proxy, or give TRUST_PROXY the proxy addresses.',
    );
  }
  return out;
}

/**
 * SQLite: one server per database, for its whole life (issue 11.8; see db/instance-lock.ts). A
 * second one is refused here, before it touches anything. PostgreSQL: several servers share the
 * database by design (README, "Running several instances").
 */
function holdServerLock(config: Config): void {
  if (config.database.dialect !== 'sqlite' || config.database.file === ':memory:') return;
  mkdirSync(dirname(config.database.file), { recursive: true });
  try {
    // Released by the OS when this process ends, however it ends.
    acquireInstanceLock(config.database.file, `volunteer-hub serve (port ${config.port})`);
  } catch (err) {
    if (!(err instanceof InstanceLockedError)) throw err;
    process.stderr.write(
      `Refusing to start: another volunteer-hub server is already running on this data: ${err.message}.\n` +
        `Two servers on one SQLite database would both run its jobs (mail sent twice). Stop the other one first, ` +
        `or give this one its own DATA_DIR. Operator commands (import, export, send, backup, ...) work beside the running server; ` +
        `to run several servers, use PostgreSQL (DATABASE_URL=postgres://...).\n`,
    );
    process.exit(2);
  }
}

async function serve(): Promise<void> {
  const config = loadConfigOrExit();
  // Loud: on stderr in plain words (whatever LOG_LEVEL), and in the log at warn.
  const warnings = startupWarnings(config);
  for (const w of warnings) process.stderr.write(`\n*** WARNING: ${w}\n\n`);
  await refuseWeakAdminToken(config);
  holdServerLock(config);
  const core = await createAppCore(config);
  for (const w of warnings) core.logger.warn(w);
  // Building the app recovers interrupted work and starting the job queue sets up its store:
  // both under the fleet's start-up lock, like the migrations, so cold starts take turns.
  const app = await withAdvisoryLock(core.handle, STARTUP_LOCK, async () => {
    const built = await buildApp(core);
    await core.jobs.start();
    return built;
  });
  const listening = await app.listen({ port: config.port, host: config.host });
  // The human banner goes where a person looks: stdout in a terminal; stderr when stdout is a
  // pipe or a file, so that stream stays pure JSON lines for the log collector.
  const banner = startBanner({
    publicUrl: config.publicUrl,
    listening,
    database: core.dialect === 'sqlite' && config.database.dialect === 'sqlite' ? `SQLite (${config.database.file})` : 'PostgreSQL',
    devMailbox: core.mailer.isDevMailbox,
  });
  (process.stdout.isTTY ? process.stdout : process.stderr).write(banner);
  core.logger.info(
    { url: config.publicUrl, database: core.dialect, mail: core.mailer.isDevMailbox ? 'dev mailbox' : 'smtp' },
    'volunteer-hub is serving',
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const grace = config.shutdownGraceMs;
    const deadline = Date.now() + grace;
    core.logger.info({ signal, graceMs: grace }, 'shutting down: no new connections; finishing in-flight requests and jobs');
    // New requests on open connections get 503 in their API's envelope from here on.
    app.draining.begin();
    // Requests still running when the grace period is over are cut; a stuck close is not waited for.
    const cut = setTimeout(() => {
      core.logger.warn({ graceMs: grace }, 'shutdown grace period over: closing the connections still open');
      app.server.closeAllConnections();
    }, grace);
    cut.unref();
    const force = setTimeout(() => {
      core.logger.error('shutdown did not finish 10 s after the grace period: exiting');
      process.exit(1);
    }, grace + 10_000);
    force.unref();
    try {
      await app.close();
      // Jobs in hand get what is left of the grace period (at least a second to hand theirs back).
      await core.jobs.stop(Math.max(1000, deadline - Date.now()));
      await core.close();
      core.logger.info('stopped');
      process.exit(0);
    } catch (err) {
      core.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

const program = new Command('volunteer-hub').description('volunteer-hub service and operator commands');
program.command('serve', { isDefault: true }).description('run the HTTP service and its job runner').action(serve);
program
  .command('migrate')
  .description('bring the database schema up to date')
  .action(async () => {
    const core = await createAppCore(loadConfigOrExit());
    process.stdout.write('database is up to date\n');
    await core.close();
  });

let corePromise: Promise<Core> | undefined;
const lazyCore = () => (corePromise ??= createAppCore(loadConfigOrExit()));
for (const m of modules) m.cli?.(program, lazyCore);

program.hook('postAction', async () => {
  if (corePromise && program.args[0] !== 'serve') await (await corePromise).close();
});

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
