/**
 * One campaign of 1,000,000 volunteers (issue 15), on SQLite, the service in its own process:
 * - import through the seed's `addUserData` in 10 calls of 100,000 lines (target < 8 s in all);
 * - `getUserInfo` on it, as a ratio to the same on a 100,000-volunteer campaign of the same
 *   service in the same run (target: within 10%), wrk -t2 -c32;
 * - the console's volunteer list (first page; page 10,000 and the last by cursor, as the console
 *   pages, and by page number) and search, median and worst of 20 calls each (target < 50 ms);
 * - the service's RSS idle and after all that.
 *
 *   npm run bench -- scale      (SCALE_BENCH_N=1000000, SCALE_BENCH_SECONDS=8,
 *                               SCALE_BENCH_NODE_ARGS: the service's node flags, default npm start's)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { likeServe } from './hot-setup.js';
import { report, startFlags, writeResults } from './lib.js';

const N = Number(process.env.SCALE_BENCH_N ?? 1_000_000);
const SMALL = 100_000;
const SECONDS = Number(process.env.SCALE_BENCH_SECONDS ?? 8);
const ADMIN = 'scale-bench-admin-token-0123456789abcdef';
const self = fileURLToPath(import.meta.url);
const tokenOf = (campaign: string, i: number) => createHash('sha256').update(`scale-${campaign}-${i}`).digest('base64url');

/** The service, default settings; answers 'tokens' by giving link tokens to the first volunteers of a campaign. */
async function service(): Promise<void> {
  // As `serve` starts (main.ts, first): `--optimize-for-size` with V8's own heap growing while the
  // import stores volunteers (heap-mode.ts), and the tick shape; node's flags are npm start's (below).
  await likeServe();
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-scale-bench-'));
  const { parseConfig } = await import('../src/config.js');
  const { buildApp, createAppCore } = await import('../src/app.js');
  const { hashToken } = await import('../src/platform/crypto/tokens.js');
  const core = await createAppCore(
    parseConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      PUBLIC_URL: 'http://bench.test',
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: process.env.SCALE_BENCH_LOG_LEVEL ?? 'info',
    }),
  );
  const app = await buildApp(core);
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!({ url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` });
  process.on('message', async (m: any) => {
    if (m?.tokens) {
      const sqlite = core.handle.sqlite!;
      const cid = (sqlite.prepare('SELECT id FROM campaigns WHERE slug = ?').get(m.tokens) as { id: number }).id;
      // Spread over the campaign (not only its first rows), as real links are.
      const rows = sqlite.prepare('SELECT id FROM recipients WHERE campaign_id = ? AND id % ? = 0 LIMIT 20000').all(cid, m.every) as {
        id: number;
      }[];
      const set = sqlite.prepare('UPDATE recipients SET token_hash = ?, status = 1 WHERE id = ?');
      sqlite.transaction(() => rows.forEach((r, i) => set.run(hashToken(tokenOf(m.tokens, i)), r.id)))();
      process.send!({ tokensSet: rows.length });
    }
    if (m?.gap) {
      // One volunteer near the start of a campaign deleted: its ids are no longer one unbroken
      // range, so a page by number walks the index again (recipients-repo.ts `page`).
      const sqlite = core.handle.sqlite!;
      const cid = (sqlite.prepare('SELECT id FROM campaigns WHERE slug = ?').get(m.gap) as { id: number }).id;
      sqlite
        .prepare('DELETE FROM recipients WHERE id = (SELECT id FROM recipients WHERE campaign_id = ? ORDER BY id LIMIT 1 OFFSET 10)')
        .run(cid);
      process.send!({ gapMade: true });
    }
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuMs: Math.round((u.user + u.system) / 1000) });
    }
    if (m === 'indexed') {
      // Waits for the background search indexer (SQLite) to reach every row.
      const t0 = performance.now();
      const { searchIndexerFor } = await import('../src/modules/certificates/search-indexer.js');
      await searchIndexerFor(core.handle)?.drain();
      process.send!({ indexedMs: Math.round(performance.now() - t0) });
    }
    if (m === 'rss')
      process.send!({ rss: Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024) });
    if (m === 'stop') {
      await app.close();
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

function wrk(url: string, paths: string[], seconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vh-scale-wrk-'));
  const list = join(dir, 'paths.txt');
  writeFileSync(list, paths.join('\n') + '\n');
  const lua = join(dir, 'paths.lua');
  writeFileSync(
    lua,
    `local paths = {}
local i = 0
function init(args)
  for l in io.lines(os.getenv("WRK_PATHS")) do table.insert(paths, l) end
  i = math.random(#paths)
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
function done(summary, latency)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"errors":%d,"timeouts":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d}\\n', summary.requests, summary.duration, e.connect + e.read + e.write, e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
`,
  );
  const r = spawnSync('wrk', ['-t2', '-c32', `-d${seconds}s`, '-s', lua, url], {
    env: { ...process.env, WRK_PATHS: list },
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  const j = JSON.parse(/WRKJSON (.*)/.exec(r.stdout)![1]!) as {
    requests: number;
    durationUs: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    p50Us: number;
    p99Us: number;
  };
  if (j.errors || j.non2xx) throw new Error(`wrk: ${j.errors} errors, ${j.non2xx} non-2xx`);
  // Timeouts (wrk's 2 s) are reported, not fatal: on the shared machine at load 35 one happens.
  return {
    requestsPerSec: Math.round(j.requests / (j.durationUs / 1e6)),
    p50Ms: j.p50Us / 1000,
    p99Ms: j.p99Us / 1000,
    ...(j.timeouts ? { timeouts: j.timeouts } : {}),
  };
}

async function main(): Promise<void> {
  if (spawnSync('wrk', ['-v']).error) throw new Error('wrk is not installed (apt-get install wrk)');
  const results: Record<string, unknown> = { volunteers: N };
  report(
    results,
    'load average at start',
    loadavg()
      .map((x) => x.toFixed(1))
      .join(' '),
  );
  // `npm start`'s node flags unless SCALE_BENCH_NODE_ARGS gives others (' ' for none).
  const given = process.env.SCALE_BENCH_NODE_ARGS;
  const nodeArgs = given === undefined ? startFlags() : given.split(' ').filter(Boolean);
  const svc: ChildProcess = fork(self, ['service'], {
    execArgv: [...nodeArgs, '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ask = <T>(m: unknown, key: string) =>
    new Promise<T>((resolve) => {
      const on = (r: any) => {
        if (r && key in r) {
          svc.off('message', on);
          resolve(r[key]);
        }
      };
      svc.on('message', on);
      svc.send(m as any);
    });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      svc.once('message', (m: any) => resolve(m.url));
      svc.once('exit', (c) => reject(new Error(`the service exited with ${c}`)));
    });
    report(results, 'service RSS idle (MB)', await ask<number>('rss', 'rss'));
    const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const r = await fetch(base + path, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    };
    const big = 'big';
    const small = 'small';
    const bigCampaign = await post('/api/v2/certificates/campaigns', { name: 'Big', slug: big });
    await post('/api/v2/certificates/campaigns', { name: 'Small', slug: small });
    const bigId = bigCampaign.id ?? bigCampaign.campaign?.id ?? big;

    // The console: list and search.
    const timed = async (path: string, n = 20) => {
      const ms: number[] = [];
      let total = 0;
      // A search right after the import says how many rows it did not look at (still indexing).
      let indexingRows: number | undefined;
      for (let i = 0; i < n; i++) {
        // A kept-alive socket the server closed while idle (during wrk) fails once: retried, untimed.
        if (i === 0) await fetch(base + path, { headers: auth }).catch(() => undefined);
        const s = performance.now();
        const r = await fetch(base + path, { headers: auth });
        const j = (await r.json()) as { total?: number; items?: unknown[]; indexingRows?: number };
        if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
        ms.push(performance.now() - s);
        total = j.total ?? -1;
        indexingRows ??= j.indexingRows;
      }
      ms.sort((a, b) => a - b);
      return {
        medianMs: Number(ms[n >> 1]!.toFixed(1)),
        worstMs: Number(ms[n - 1]!.toFixed(1)),
        total,
        ...(indexingRows ? { indexingRowsAtFirst: indexingRows } : {}),
      };
    };
    const r = `/api/v2/certificates/campaigns/${bigId}/recipients`;

    // Import: bodies built before the clock starts.
    const batch = 100_000;
    const bodies = Array.from({ length: Math.ceil(N / batch) }, (_, b) =>
      JSON.stringify({
        token: ADMIN,
        campaign: big,
        email: Array.from(
          { length: Math.min(batch, N - b * batch) },
          (_, i) => `volunteer${b * batch + i}@example.org,NO-${b * batch + i},志愿者${b * batch + i}`,
        ),
      }),
    );
    let added = 0;
    const cpu0 = await ask<number>('cpu', 'cpuMs');
    const t0 = performance.now();
    for (const body of bodies) {
      const r = await fetch(`${base}/api/addUserData`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      added += ((await r.json()) as { data: { added: number } }).data.added;
    }
    report(results, `import ${N.toLocaleString('en')} (s)`, Number(((performance.now() - t0) / 1000).toFixed(2)));
    report(results, `import ${N.toLocaleString('en')}, the service's CPU (s)`, ((await ask<number>('cpu', 'cpuMs')) - cpu0) / 1000);
    if (added !== N) throw new Error(`imported ${added}`);
    for (let b = 0; b < SMALL / batch; b++) {
      await post('/api/addUserData', {
        token: ADMIN,
        campaign: small,
        email: Array.from({ length: batch }, (_, i) => `small${b * batch + i}@example.org`),
      });
    }
    report(results, 'service RSS after the imports (MB)', await ask<number>('rss', 'rss'));
    // Right after the import: the indexer waits a few seconds (the next part of a list may
    // follow), so every imported row waits for it here.
    for (const [what, q] of [
      ['email prefix', 'volunteer77777'],
      ['substring', '7777@'],
      ['name', '志愿者12345'],
      ['no match', 'nobody-here'],
    ])
      report(results, `search right after the import, ${what} "${q}"`, await timed(`${r}?q=${encodeURIComponent(q)}&limit=50`, 3));

    // getUserInfo: 1,000,000 vs 100,000 in the same run, alternated twice.
    const nBig = await ask<number>({ tokens: big, every: Math.max(1, Math.floor(N / 20_000)) }, 'tokensSet');
    const nSmall = await ask<number>({ tokens: small, every: Math.max(1, Math.floor(SMALL / 20_000)) }, 'tokensSet');
    const paths = (c: string, n: number) => Array.from({ length: n }, (_, i) => `/api/getUserInfo?token=${tokenOf(c, i)}&campaign=${c}`);
    wrk(base, paths(small, nSmall), 2);
    const rounds = [0, 1].map(() => ({ small: wrk(base, paths(small, nSmall), SECONDS), big: wrk(base, paths(big, nBig), SECONDS) }));
    const best = (k: 'small' | 'big') => rounds.map((r) => r[k]).sort((a, b) => b.requestsPerSec - a.requestsPerSec)[0]!;
    report(results, 'getUserInfo, 100,000-volunteer campaign (best of 2)', best('small'));
    report(results, `getUserInfo, ${N.toLocaleString('en')}-volunteer campaign (best of 2)`, best('big'));
    report(results, 'getUserInfo ratio big / small', Number((best('big').requestsPerSec / best('small').requestsPerSec).toFixed(2)));

    const lastPage = Math.ceil(N / 50);
    const deep = Math.min(10_000, lastPage);
    // The list while the background search indexer works through the import, and after it.
    const lists = async (when: string) => {
      report(results, `${when}: list, first page`, await timed(`${r}?page=1&limit=50`));
      // The console's paging: by cursor (the next of the page before, as the console follows it;
      // that page itself fetched once, untimed, by its number), the last page read backwards, and
      // the one before it by its prev cursor.
      const cursorOf = async (path: string, key: 'next' | 'prev') => {
        const j = (await (await fetch(base + path, { headers: auth })).json()) as Record<string, string>;
        return encodeURIComponent(j[key]!);
      };
      const deepCursor = await cursorOf(`${r}?page=${deep - 1}&limit=50`, 'next');
      report(results, `${when}: list, page ${deep.toLocaleString('en')} by cursor`, await timed(`${r}?cursor=${deepCursor}&limit=50`));
      report(results, `${when}: list, last page (last=true)`, await timed(`${r}?last=true&limit=50`));
      const beforeLast = await cursorOf(`${r}?last=true&limit=50`, 'prev');
      report(results, `${when}: list, the page before the last by cursor`, await timed(`${r}?cursor=${beforeLast}&limit=50`));
      // By page number (the API's page parameter): each page before it is skipped in the index.
      report(results, `${when}: list, page ${deep.toLocaleString('en')} by number`, await timed(`${r}?page=${deep}&limit=50`));
      report(results, `${when}: list, last page by number`, await timed(`${r}?page=${lastPage}&limit=50`));
    };
    await lists('before indexing ends');
    const searches = async (when: string, n = 20) => {
      report(results, `search ${when}, email prefix "volunteer77777"`, await timed(`${r}?q=volunteer77777&limit=50`, n));
      report(results, `search ${when}, substring "7777@"`, await timed(`${r}?q=${encodeURIComponent('7777@')}&limit=50`, n));
      report(results, `search ${when}, name "志愿者12345"`, await timed(`${r}?q=${encodeURIComponent('志愿者12345')}&limit=50`, n));
      report(results, `search ${when}, 2 characters "77"`, await timed(`${r}?q=77&limit=50`, n));
      report(results, `search ${when}, 2 characters, no match "zq"`, await timed(`${r}?q=zq&limit=50`, n));
      report(results, `search ${when}, no match "nobody-here"`, await timed(`${r}?q=nobody-here&limit=50`, n));
    };
    // Later in the indexer's catch-up (after getUserInfo and the lists above), then all indexed.
    await searches('before indexing ends', 5);
    const cpuIx = await ask<number>('cpu', 'cpuMs');
    report(results, 'search indexing finished after (s)', (await ask<number>('indexed', 'indexedMs')) / 1000);
    report(results, 'search indexing, the service CPU meanwhile (s)', ((await ask<number>('cpu', 'cpuMs')) - cpuIx) / 1000);
    await searches('indexed');
    await lists('indexed');
    report(results, 'list, status 1 (have a link)', await timed(`${r}?status=1&limit=50`));
    // Pages by number of a campaign whose ids have a gap: the index is walked from the nearer end.
    await ask<boolean>({ gap: 'big' }, 'gapMade');
    report(results, `one volunteer deleted: list, first page`, await timed(`${r}?page=1&limit=50`));
    report(results, `one volunteer deleted: list, page ${deep.toLocaleString('en')} by number`, await timed(`${r}?page=${deep}&limit=50`));
    report(
      results,
      `one volunteer deleted: list, page ${Math.round(deep * 1.5).toLocaleString('en')} by number`,
      await timed(`${r}?page=${Math.round(deep * 1.5)}&limit=50`),
    );
    report(results, `one volunteer deleted: list, last page by number`, await timed(`${r}?page=${lastPage}&limit=50`));
    report(results, 'service RSS at the end (MB)', await ask<number>('rss', 'rss'));
    report(
      results,
      'load average at end',
      loadavg()
        .map((x) => x.toFixed(1))
        .join(' '),
    );
    writeResults('scale', results);
  } finally {
    svc.send('stop');
    await new Promise((r) => svc.once('exit', r));
  }
}

if (process.argv[2] === 'service') await service();
else await main();
