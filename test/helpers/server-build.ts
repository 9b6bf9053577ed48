/**
 * The service compiled for the tests (and benches) that start it in a child process (`serve`,
 * CLI commands): `node .test-server/main.js serve` instead of `node --import tsx src/main.ts serve`.
 *
 * Why: under tsx every start of a child resolves and loads each of the service's modules through
 * tsx's loader hooks, and the suite starts a few dozen children (crash, fleet, start, CLI tests).
 * Time from spawn to a healthy /healthz, median of 5 starts each, as ratios to a bare
 * `node -e http.createServer(...)` floor measured alongside (2026-12-02 14:18 UTC, load 9-11):
 * tsx 22.4x, compiled 10.8x (`--no-optimize-for-size` made no difference: 10.9x).
 *
 * How: the same per-file esbuild transform tsx applies (no bundling, so each module and its
 * `import.meta.url` stay as they are), written to `<root>/.test-server/` (git-ignored), a folder
 * directly under the root like `dist/`, so what the code finds relative to itself (`dist/web`, the
 * root's node_modules) resolves exactly as in the build operators run. Built again only when a
 * source changed (a stamp of every source file's path, size and mtime); the integration tier's
 * global setup builds it once before any worker starts, and `serverEntry()` checks it for callers
 * outside the tier (benches). A finished build replaces the old folder by rename, so a child
 * starting meanwhile reads one build or the other, never a half-written one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, version as esbuildVersion } from 'esbuild';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SRC = join(ROOT, 'src');
export const SERVER_DIR = join(ROOT, '.test-server');
const STAMP = join(SERVER_DIR, 'stamp.txt');

function sources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(SRC, f))
    .sort();
}

function stampOf(files: string[]): string {
  const h = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const f of files) {
    const s = statSync(f);
    h.update(`${relative(SRC, f)} ${s.size} ${s.mtimeMs}\n`);
  }
  for (const f of ['tsconfig.json', 'package.json']) h.update(readFileSync(join(ROOT, f)));
  return h.digest('hex');
}

/** Compiles src/ into .test-server/ unless it is up to date; answers its main.js. */
export function serverEntry(): string {
  const files = sources();
  const stamp = stampOf(files);
  const main = join(SERVER_DIR, 'main.js');
  if (existsSync(main) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === stamp) return main;
  const tmp = `${SERVER_DIR}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    buildSync({
      entryPoints: files,
      outdir: tmp,
      outbase: SRC,
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Stack traces of a failing child name src/ lines (the children run with --enable-source-maps).
      sourcemap: 'inline',
      logLevel: 'error',
    });
    writeFileSync(join(tmp, 'stamp.txt'), stamp);
    const old = `${SERVER_DIR}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
    if (existsSync(SERVER_DIR)) renameSync(SERVER_DIR, old);
    try {
      renameSync(tmp, SERVER_DIR);
    } catch (err) {
      // Another process put its build in place meanwhile (same sources): use that one.
      if (!existsSync(main)) throw err;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return main;
}

/** Node arguments that run the service's CLI with `args` (e.g. `['serve']`). */
export function serverArgs(args: string[]): string[] {
  return ['--enable-source-maps', serverEntry(), ...args];
}
