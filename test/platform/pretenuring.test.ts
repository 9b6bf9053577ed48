/**
 * Issue 15: the service runs without V8's allocation-site pretenuring. A bulk import in the
 * process (100,000 volunteers through the seed API) kept so many objects of the HTTP path's
 * allocation sites alive that V8 decided to allocate those sites' objects in the old generation
 * for good: every request's parser, headers and response objects then went there, were freed only
 * by full collections (13 in 4 s against 2), and getUserInfo took ~70 us of CPU an answer against
 * ~50 in a process that had not imported (bench/README.md, "Hot paths, a twelfth pass").
 * heap-mode.ts `manageHeap` (the entry's heap settings) turns it off unless the operator chose.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const fixture = join(import.meta.dirname, 'fixtures', 'pretenuring.ts');
const src = (path: string) => join(import.meta.dirname, '../../src', path);

/**
 * V8's pretenuring verdicts on allocation sites (`--trace-pretenuring-statistics`: "undecided =>
 * maybe tenure", "maybe tenure => tenure", ...) in a process that loads `module` (none: the
 * control) and then keeps many objects. With pretenuring off V8 gives none; with it on, whether a
 * site reaches "tenure" within the run depends on when its collections fall (Node 24's V8 did not
 * in one CI run), but it always weighs the site.
 */
function pretenuringVerdicts(module: string | undefined, flags: string[] = []): number {
  const r = spawnSync(
    process.execPath,
    ['--max-semi-space-size=8', '--trace-pretenuring-statistics', ...flags, '--import', 'tsx', fixture, ...(module ? [module] : [])],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 64 * 1024 * 1024 },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('kept 2000000');
  return r.stdout.split('\n').filter((l) => /pretenuring: AllocationSite\(/.test(l)).length;
}

it("the entry's heap settings turn off V8's allocation-site pretenuring", { timeout: 120_000 }, () => {
  // The control: the same objects without the entry's settings are pretenured.
  expect(pretenuringVerdicts(undefined)).toBeGreaterThan(0);
  expect(pretenuringVerdicts(src('platform/heap-settings.ts'))).toBe(0);
});

it('an operator who asks for pretenuring on the command line keeps it', { timeout: 120_000 }, () => {
  expect(pretenuringVerdicts(src('platform/heap-settings.ts'), ['--allocation-site-pretenuring'])).toBeGreaterThan(0);
});
