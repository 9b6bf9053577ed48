/**
 * Issue 15 (sending 100,000 notices peaks under 150 MB): the service is started with V8's young
 * generation capped (`--max-semi-space-size`), which V8 reads only when the process starts, so it
 * is on the command line that operators run: `npm start` and the README's systemd unit. Here: both
 * carry the same flag, and a process started with `npm start`'s node flags keeps its young
 * generation within the cap where the same process without them grows it past (a test-only
 * script reads the new space's size in-process: fixtures/young-generation.cjs).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const PROBE = join(import.meta.dirname, 'fixtures/young-generation.cjs');

/** `npm start`'s node flags: its script is `node <flags> dist/main.js serve`. */
function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const m = /^node((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js serve$/.exec(start);
  expect(m, `npm start is "${start}"`).not.toBeNull();
  return m![1]!.split(' ').filter(Boolean);
}

function semiSpaceMb(flags: string[]): number {
  const flag = flags.find((f) => f.startsWith('--max-semi-space-size='));
  expect(flag, `npm start's flags: ${flags.join(' ')}`).toBeDefined();
  return Number(flag!.split('=')[1]);
}

function maxNewSpaceMb(flags: string[]): { execArgv: string[]; maxNewSpaceMb: number } {
  const r = spawnSync(process.execPath, [...flags, PROBE], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { execArgv: string[]; maxNewSpaceMb: number };
}

it('npm start caps the young generation, and the README systemd unit starts the service the same way', () => {
  const flags = startFlags();
  const semi = semiSpaceMb(flags);
  expect(semi).toBeGreaterThan(0);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const units = [...readme.matchAll(/^\s*ExecStart=(.*)$/gm)].map((m) => m[1]);
  expect(units.length).toBeGreaterThan(0);
  for (const u of units) expect(u).toBe(`/usr/bin/node ${flags.join(' ')} /opt/volunteer-hub/dist/main.js serve`);
});

it(
  'a process started with npm start’s node flags keeps its new space within the cap; without them it grows past',
  { timeout: 60_000 },
  () => {
    const flags = startFlags();
    const semi = semiSpaceMb(flags);
    const capped = maxNewSpaceMb(flags);
    expect(capped.execArgv).toEqual(flags);
    // The new space is two semi-spaces.
    expect(capped.maxNewSpaceMb).toBeLessThanOrEqual(2 * semi);
    expect(maxNewSpaceMb([]).maxNewSpaceMb).toBeGreaterThan(2 * semi);
  },
);
