/** Shared bits for benchmarks: load generation with autocannon and writing results. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

/** Runs autocannon against one request shape for `seconds` with `connections` connections. */
export async function load(opts: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ duration: 10, connections: 32, ...opts });
  return {
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

/** Prints a figure line and returns it for the JSON result. */
export function report(results: Record<string, unknown>, name: string, value: unknown): void {
  results[name] = value;
  process.stdout.write(`${name}: ${typeof value === 'object' ? JSON.stringify(value) : value}\n`);
}

export function writeResults(name: string, results: Record<string, unknown>): void {
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2));
}
