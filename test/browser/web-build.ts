/**
 * Makes sure the web pages are built before a browser test serves them: builds once when
 * dist/web is missing or older than any source under web/ (or vite.config.ts), so `npm test`
 * works right after `npm install` and after editing a page. Test files run in parallel: a lock
 * folder makes one of them build while the others wait. `WEB_BUILD=skip` uses dist/web as it is
 * (for someone who builds the pages themselves, e.g. while others edit other entries).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WEB_OUT = join(ROOT, 'dist/web');
const STAMP = join(WEB_OUT, 'sizes.json');
const LOCK = join(ROOT, 'dist/.web-build.lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return Math.max(newestSource(join(ROOT, 'web')), statSync(join(ROOT, 'vite.config.ts')).mtimeMs) > built;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds the pages if needed; throws with Vite's output when the build fails. */
export async function ensureWebBuilt(): Promise<void> {
  if (process.env.WEB_BUILD === 'skip' && existsSync(STAMP)) return;
  if (!isStale()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than 3 minutes is left over from a crash.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      await sleep(250);
      if (!existsSync(LOCK) && !isStale()) return;
    }
  }
  try {
    if (!isStale()) return;
    const out = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (out.status !== 0) throw new Error(`vite build failed:\n${out.stdout}\n${out.stderr}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
