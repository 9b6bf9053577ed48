/**
 * The import alone (issue 15: 1,000,000 volunteers under 8 s), before and after in the same run:
 * the service of IMPORT_BENCH_REV (default `main`) and of the working tree, each in a process of
 * its own on a fresh SQLite file, alternated IMPORT_BENCH_ROUNDS times (default 2) so the
 * machine's load falls on both alike. Each imports IMPORT_BENCH_N volunteers (default 100000;
 * e.g. `100000,1000000`) through the seed's addUserData in calls of 100,000 lines (no HTTP: the
 * app's inject), then lets the search indexer finish. Reported: wall and CPU time of the import,
 * and of the indexing that follows, and the ratios after / before.
 *
 *   npm run bench -- import      (IMPORT_BENCH_REV=<commit>, IMPORT_BENCH_N, IMPORT_BENCH_ROUNDS)
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, writeResults } from './lib.js';

const self = fileURLToPath(import.meta.url);
const root = dirname(dirname(self));
const ADMIN = 'import-bench-admin-token-0123456789abcdef';

interface Figures {
  wallS: number;
  cpuS: number;
  indexWallS: number;
  indexCpuS: number;
}

/** In a child: imports `n` volunteers with the code under `codeRoot`, prints the figures. */
async function child(codeRoot: string, n: number): Promise<void> {
  const { parseConfig } = (await import(join(codeRoot, 'src/config.ts'))) as typeof import('../src/config.js');
  const { buildApp, createAppCore } = (await import(join(codeRoot, 'src/app.ts'))) as typeof import('../src/app.js');
  const { searchIndexerFor } = (await import(
    join(codeRoot, 'src/modules/certificates/search-indexer.ts')
  )) as typeof import('../src/modules/certificates/search-indexer.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-import-bench-'));
  const core = await createAppCore(
    parseConfig({ DATA_DIR: dataDir, PORT: '0', PUBLIC_URL: 'http://bench.test', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' }),
  );
  const app = await buildApp(core);
  await app.ready();
  await app.inject({
    method: 'POST',
    url: '/api/v2/certificates/campaigns',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'Big', slug: 'big' }),
  });
  // Bodies built before the clock starts.
  const batch = 100_000;
  const bodies = Array.from({ length: Math.ceil(n / batch) }, (_, b) =>
    JSON.stringify({
      token: ADMIN,
      campaign: 'big',
      email: Array.from(
        { length: Math.min(batch, n - b * batch) },
        (_, i) => `volunteer${b * batch + i}@example.org,NO-${b * batch + i},志愿者${b * batch + i}`,
      ),
    }),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let added = 0;
  for (const payload of bodies) {
    const r = await app.inject({ method: 'POST', url: '/api/addUserData', headers: { 'content-type': 'application/json' }, payload });
    added += (r.json() as { data: { added: number } }).data.added;
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (added !== n) throw new Error(`imported ${added} of ${n}`);
  // The indexing the import left (some of it may have run between the calls, counted above).
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  await searchIndexerFor(core.handle)?.drain();
  const ci = process.cpuUsage(cpu1);
  const out: Figures = {
    wallS: Number(wallS.toFixed(2)),
    cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    indexWallS: Number(((performance.now() - t1) / 1000).toFixed(2)),
    indexCpuS: Number(((ci.user + ci.system) / 1e6).toFixed(2)),
  };
  process.stdout.write(`IMPORTJSON ${JSON.stringify(out)}\n`);
  await app.close();
  await core.close();
  rmSync(dataDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const rev = process.env.IMPORT_BENCH_REV ?? 'main';
  const sizes = (process.env.IMPORT_BENCH_N ?? '100000').split(',').map(Number);
  const rounds = Number(process.env.IMPORT_BENCH_ROUNDS ?? 2);
  const results: Record<string, unknown> = { rev };
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  report(results, 'load average at start', load());
  // The code of `rev` beside the working tree's node_modules.
  const before = mkdtempSync(join(tmpdir(), 'vh-import-bench-rev-'));
  try {
    execSync(`git archive ${rev} src package.json | tar -x -C ${before}`, { cwd: root });
    symlinkSync(join(root, 'node_modules'), join(before, 'node_modules'));
    const run = (codeRoot: string, n: number): Figures => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, 'child', codeRoot, String(n)], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 * 1024 * 1024,
      });
      return JSON.parse(/IMPORTJSON (.*)/.exec(out)![1]!) as Figures;
    };
    for (const n of sizes) {
      const all: { before: Figures[]; after: Figures[] } = { before: [], after: [] };
      for (let r = 0; r < rounds; r++) {
        all.before.push(run(before, n));
        all.after.push(run(root, n));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const key = n.toLocaleString('en');
      for (const side of ['before', 'after'] as const)
        report(results, `import ${key}, ${side} (${side === 'before' ? rev : 'working tree'})`, all[side]);
      for (const f of ['wallS', 'cpuS', 'indexCpuS'] as const) {
        const ratio = median(all.after.map((x) => x[f])) / median(all.before.map((x) => x[f]));
        report(results, `import ${key}, ${f} after / before (medians)`, Number(ratio.toFixed(2)));
      }
      report(results, `load average after ${key}`, load());
    }
    writeResults('import', results);
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') await child(process.argv[3]!, Number(process.argv[4]));
else await main();
