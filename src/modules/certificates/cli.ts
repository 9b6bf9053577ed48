/**
 * Operator commands (what the original's admin.py did, and more):
 *   certificates count | search <email> | reset <email> [--status n] | revoke <email> --reason <text>
 *   | import <file.csv|data.json> | export [file] | send [--run] | backup <file>   all with --campaign <slug|id>
 *   certificates rotate-key
 */
import { createWriteStream, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type cliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import type { Core } from '../../platform/core.js';
import { createServices, type Services } from './services.js';
import type { Separator } from './import-file.js';
import { acquireInstanceLock, InstanceLockedError, type InstanceLock } from '../../platform/db/instance-lock.js';
import { createPrivateFile } from '../../platform/db/private-file.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

function bar(title: string, total: number) {
  const bars = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
  const b = new bars.SingleBar(
    { format: `${title} [{bar}] {value}/{total} {percentage}% eta {eta}s`, hideCursor: true, noTTYOutput: false },
    bars.Presets.shades_classic,
  );
  b.start(total, 0);
  return b;
}

export function registerCli(program: Command, core: () => Promise<Core>): void {
  const cmd = program.command('certificates').description('volunteer certificates: operator commands');
  let svcCache: Services | undefined;
  const open = async (ref: string | undefined) => {
    const c = await core();
    const svc = (svcCache ??= createServices(c));
    return { core: c, svc, campaign: await svc.campaign.resolve(ref) };
  };

  cmd
    .command('count')
    .description('volunteers per status')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (o: { campaign: string }) => {
      const { svc, campaign } = await open(o.campaign);
      const p = await svc.sending.progress(campaign);
      const labels = ['imported', 'notice sent', 'name submitted', 'rendered', 'certificate mailed'];
      for (const s of ['0', '1', '2', '3', '4'] as const) out(`${s} ${labels[Number(s)].padEnd(20)} ${p.counts[s]}`);
      out(`  failed               ${p.failed.count}`);
      out(`sending: ${p.sending}`);
    });

  cmd
    .command('search <email>')
    .description('find a volunteer by email (prefix)')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (email: string, o: { campaign: string; status?: string; reason?: string }) => {
      const { svc, campaign } = await open(o.campaign);
      const res = await svc.recipients.list(campaign, { q: email, page: 1, limit: 50 });
      if (res.items.length === 0) out('no volunteer found');
      // Right after a large import (the server's indexer not through yet) a search is partial.
      if (res.indexingRows) out(`(still indexing: ${res.indexingRows} volunteers not searched yet; try again in a few seconds)`);
      for (const r of res.items)
        out(`${r.id}\t${r.email}\tstatus ${r.status}\t${r.number ?? ''}\t${r.name ?? ''}${r.failure ? `\tfailed: ${r.failure}` : ''}`);
    });

  cmd
    .command('reset <email>')
    .description("set a volunteer's status (default 0: their link is mailed again on the next send; an issued certificate stays valid)")
    .option('--status <n>', 'status 0-4', '0')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (email: string, o: { campaign: string; status?: string; reason?: string }) => {
      const status = Number(o.status);
      if (!Number.isInteger(status) || status < 0 || status > 4) throw new Error('--status must be 0..4');
      const { svc, campaign } = await open(o.campaign);
      const r = await svc.recipients.findByEmail(campaign, email);
      if (!r) throw new Error(`no volunteer with email ${email} in campaign ${campaign.slug}`);
      const after = await svc.recipients.reset(r, status);
      out(`${after.email}: status ${r.status} -> ${after.status}`);
    });

  cmd
    .command('revoke <email>')
    .description("revoke a volunteer's certificate (its page then says revoked, with the reason)")
    .requiredOption('--reason <text>', 'shown on the certificate page')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (email: string, o: { campaign: string; status?: string; reason?: string }) => {
      const { svc, campaign } = await open(o.campaign);
      const r = await svc.recipients.findByEmail(campaign, email);
      if (!r) throw new Error(`no volunteer with email ${email} in campaign ${campaign.slug}`);
      const st = await svc.credentials.revoke(r, String(o.reason).slice(0, 500));
      out(`${r.email}: certificate ${st.id} revoked: ${st.revocationReason}`);
    });

  cmd
    .command('rotate-key')
    .description('sign new credentials with a new Ed25519 key (old keys stay published)')
    .action(async () => {
      const c = await core();
      const svc = (svcCache ??= createServices(c));
      const k = await svc.keys.rotate();
      out(`signing key ${k.kid}${k.retired ? ` (retired ${k.retired}; still published)` : ''}`);
    });

  cmd
    .command('import <file>')
    .description(
      'import volunteers from CSV or XLSX (email[,number[,name]], or columns named by a header; encoding and separator detected) or the original data.json; every line not imported as it was is listed with the reason',
    )
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .option('--encoding <name>', 'CSV encoding instead of the detected one (utf-8, gb18030, big5, ...)')
    .option('--separator <sep>', 'CSV separator instead of the detected one: , ; or tab')
    .action(async (file: string, o: { campaign: string; encoding?: string; separator?: Separator | 'tab' }) => {
      const { svc, campaign } = await open(o.campaign);
      const text = readFileSync(file, 'utf8');
      if (/\.json$/i.test(file) || /^\s*\{/.test(text)) {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (err) {
          throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
        }
        const res = await svc.recipients.importTinyDb(campaign, json);
        out(
          `added ${res.added}, duplicates ${res.duplicates.length}, rejected ${res.rejected.length}, links not kept ${res.tokensDropped.length}`,
        );
        // data.json rows are named by their TinyDB key (#1, #2, ...), as in the file.
        const rows = [
          ...res.rejected.map((r) => ({ key: r.lineNo, text: `  ${r.line}: rejected: ${r.reason}` })),
          ...res.duplicates.map((r) => ({ key: r.lineNo, text: `  ${r.line}: duplicate: ${r.reason ?? r.email}` })),
          ...res.tokensDropped.map((r) => ({ key: r.lineNo, text: `  ${r.line}: ${r.email}: ${r.reason}` })),
        ].sort((x, y) => x.key - y.key);
        for (const l of rows) out(l.text);
        return;
      }
      // CSV (any common encoding and separator, quoted fields) or XLSX: the same reader as the
      // console's import (import-file.ts); a header row names the columns.
      const res = await svc.recipients.importFile(campaign, readFileSync(file), {
        encoding: o.encoding,
        separator: o.separator === 'tab' ? '\t' : o.separator,
        maxRows: 10_000_000,
      });
      if (res.format === 'csv') out(`read as CSV, encoding ${res.encoding}, separator ${res.separator === '\t' ? 'tab' : res.separator}`);
      out(`added ${res.added}, duplicates ${res.duplicates.length}, rejected ${res.rejected.length}`);
      for (const r of res.rejected) out(`  line ${r.lineNo}: ${r.reason}: ${r.line}`);
      for (const r of res.duplicates) out(`  line ${r.lineNo}: duplicate: ${r.reason ?? r.email}`);
    });

  cmd
    .command('export [file]')
    .description('export volunteers as CSV (stdout when no file)')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (file: string | undefined, o: { campaign: string }) => {
      const { svc, campaign } = await open(o.campaign);
      const sink: NodeJS.WritableStream = file ? createWriteStream(file) : process.stdout;
      for await (const chunk of svc.recipients.exportCsv(campaign)) if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
      if (file) await new Promise<void>((r) => sink.end(() => r()));
    });

  cmd
    .command('send')
    .description('mail every volunteer at status 0 a private link (the running service does it; --run does it here)')
    .option('--run', 'run the mailing in this process and wait')
    .option('--campaign <ref>', 'campaign slug or id', 'default')
    .action(async (o: { campaign: string; run?: boolean }) => {
      const { core: c, svc, campaign } = await open(o.campaign);
      const n = await svc.sending.start(campaign);
      out(`queued ${n} notices for campaign ${campaign.slug}`);
      if (!o.run) return;
      // One process at most runs a SQLite database's jobs: a running server does the mailing
      // (this command then only watches); otherwise this one runs it, holding the server's lock.
      let lock: InstanceLock | undefined;
      if (c.config.database.dialect === 'sqlite' && c.config.database.file !== ':memory:') {
        try {
          lock = acquireInstanceLock(c.config.database.file, 'volunteer-hub certificates send --run');
        } catch (err) {
          if (!(err instanceof InstanceLockedError)) throw err;
          out(`${err.message}: it does the mailing; watching its progress`);
        }
      }
      if (lock || c.config.database.dialect === 'postgres') await c.jobs.start();
      const b = bar('mailing', n);
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const cur = await svc.campaign.resolve(campaign.id);
        const left = await svc.sending.toSend(cur);
        b.update(n - left);
        if (cur.sending !== 'sending') break;
      }
      b.stop();
      lock?.release();
    });

  cmd
    .command('backup <file>')
    .description('online backup of the SQLite database')
    .action(async (file: string) => {
      const c = await core();
      if (!c.handle.sqlite) throw new Error('backup is for SQLite; use pg_dump for PostgreSQL');
      let b: ReturnType<typeof bar> | undefined;
      // A backup holds everything the database does: readable by this user only.
      createPrivateFile(file);
      await c.handle.sqlite.backup(file, {
        progress({ totalPages, remainingPages }) {
          b ??= bar('backup', totalPages);
          b.update(totalPages - remainingPages);
          return 200;
        },
      });
      b?.stop();
      out(`backup written to ${file}`);
    });
}
