/**
 * Entry point: `serve` (default) runs the HTTP service with its job runner; `migrate` brings the
 * schema up to date; modules add operator commands (see `--help`).
 */
import 'dotenv/config';
import { Command } from 'commander';
import { ConfigError, parseConfig, type Config } from './config.js';
import { createCore, type Core } from './platform/core.js';
import { buildApp, modules } from './app.js';

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

async function serve(): Promise<void> {
  const config = loadConfigOrExit();
  // Loud: on stderr in plain words (whatever LOG_LEVEL), and in the log at warn.
  const warnings = startupWarnings(config);
  for (const w of warnings) process.stderr.write(`\n*** WARNING: ${w}\n\n`);
  const core = await createCore(config);
  for (const w of warnings) core.logger.warn(w);
  const app = await buildApp(core);
  await core.jobs.start();
  await app.listen({ port: config.port, host: config.host });
  core.logger.info({ url: config.publicUrl, database: core.dialect, mail: core.mailer.isDevMailbox ? 'dev mailbox' : 'smtp' }, 'volunteer-hub is serving');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    core.logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    try {
      await app.close();
      await core.close();
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
    const core = await createCore(loadConfigOrExit());
    process.stdout.write('database is up to date\n');
    await core.close();
  });

let corePromise: Promise<Core> | undefined;
const lazyCore = () => (corePromise ??= createCore(loadConfigOrExit()));
for (const m of modules) m.cli?.(program, lazyCore);

program.hook('postAction', async () => {
  if (corePromise && program.args[0] !== 'serve') await (await corePromise).close();
});

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
