/**
 * `npm run bench`: runs every `bench/*.bench.ts` (or those named on the command line) one after
 * another, each in its own process so figures do not disturb each other. Each benchmark prints
 * its figures and writes them as JSON to bench/results/<name>.json.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n=== ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, f)], {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  if (r.status !== 0) failed++;
}
if (failed) {
  process.stderr.write(`${failed} benchmark(s) failed\n`);
  process.exit(1);
}
