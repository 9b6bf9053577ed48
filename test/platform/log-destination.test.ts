/**
 * The service's JSON log destination (src/platform/log-destination.ts), in processes of their own
 * writing as the service does (fixtures/log-lines.ts): pino's lines and the access lines in the
 * order written, none lost at exit, and a bounded backlog when nobody reads the lines.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HANDOVER_BYTES, HANDOVER_MS, LogDestination } from '../../src/platform/log-destination.js';

const fixture = fileURLToPath(new URL('./fixtures/log-lines.ts', import.meta.url));

interface Run {
  lines: Record<string, unknown>[];
  stderr: string;
  code: number | null;
}

/** Runs the fixture; with `readAfterDone`, its stdout is read only once it says "done" on stderr. */
function run(mode: string, readAfterDone = false): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${mode} did not end`));
    }, 60_000);
    let out = '';
    let stderr = '';
    const read = () => child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    if (!readAfterDone) read();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (readAfterDone && stderr.includes('done\n') && child.stdout.listenerCount('data') === 0) read();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ lines, stderr, code });
    });
  });
}

const written = ['request', 'between the two', 'request'];

describe('the JSON log destination', () => {
  it('writes access lines and pino lines in the order they were written', async () => {
    const r = await run('order');
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.msg)).toEqual(written);
    expect(r.lines.map((l) => l.reqId)).toEqual(['a', undefined, 'b']);
  });

  it('writes the lines of the last turn when the process exits in it', async () => {
    const r = await run('exit');
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => l.msg)).toEqual(written);
  });

  it('writes the lines of the last turn when an uncaught exception ends the process', async () => {
    const r = await run('throw');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('fixture: uncaught');
    expect(r.lines.map((l) => l.msg)).toEqual(written);
  });

  it('drops lines beyond a bounded backlog when nobody reads them, and says how many with a warn line', async () => {
    const r = await run('backlog', true);
    expect(r.code).toBe(0);
    const kept = r.lines.filter((l) => l.msg === 'backlog line');
    const notices = r.lines.filter((l) => l.level === 40);
    const dropped = notices.reduce((n, l) => n + (l.droppedLines as number), 0);
    // ~27 MB of lines against a 16 MB bound: some are dropped, every one of them counted.
    expect(dropped).toBeGreaterThan(0);
    expect(kept.length + dropped).toBe(300_000);
    expect(notices[0]).toMatchObject({ msg: expect.stringContaining('dropped') });
    // What is kept is whole turns, in order.
    const is = kept.map((l) => l.i as number);
    expect(is).toEqual([...is].sort((a, b) => a - b));
  }, 90_000);
});

describe('LogDestination', () => {
  let dir = '';
  afterEach(() => vi.restoreAllMocks());

  it('hands the lines of several turns to the file in one write, as one Buffer, byte for byte, within HANDOVER_MS', async () => {
    dir ||= mkdtempSync(join(tmpdir(), 'vh-logdest-'));
    const file = join(dir, 'turn.log');
    const fd = openSync(file, 'w');
    const write = vi.spyOn(fs, 'write');
    const d = new LogDestination({ fd });
    const lines = ['{"a":1}\n', '{"b":"é\u2028"}\n', '{"c":3}\n', '{"d":4}\n'];
    const start = performance.now();
    // Two turns' lines (a busy service writes lines in every turn).
    d.write(lines[0]!);
    d.write(lines[1]!);
    await new Promise((r) => setImmediate(r));
    d.write(lines[2]!);
    d.write(lines[3]!);
    await new Promise((r) => setImmediate(r));
    expect(write).not.toHaveBeenCalled();
    await expect.poll(() => write.mock.calls.length, { interval: 2 }).toBe(1);
    expect(performance.now() - start).toBeGreaterThanOrEqual(HANDOVER_MS - 1);
    expect(Buffer.isBuffer(write.mock.calls[0]![1])).toBe(true);
    // The write is in node's thread pool: it lands a little later.
    await expect.poll(() => readFileSync(file, 'utf8')).toBe(lines.join(''));
    closeSync(fd);
  });

  it(`hands lines over at the end of the turn in which ${HANDOVER_BYTES} characters wait, in the order written`, async () => {
    dir ||= mkdtempSync(join(tmpdir(), 'vh-logdest-'));
    const file = join(dir, 'bytes.log');
    const fd = openSync(file, 'w');
    const write = vi.spyOn(fs, 'write');
    const d = new LogDestination({ fd });
    const line = (i: number) => `{"i":${i},"pad":"${'x'.repeat(1000)}"}\n`;
    const n = Math.ceil(HANDOVER_BYTES / line(0).length) + 10;
    for (let i = 0; i < n; i++) d.write(line(i));
    expect(write).not.toHaveBeenCalled();
    await new Promise((r) => setImmediate(r));
    // At the end of the turn, without waiting for HANDOVER_MS.
    expect(write).toHaveBeenCalledTimes(1);
    await expect.poll(() => readFileSync(file, 'utf8')).toBe(Array.from({ length: n }, (_, i) => line(i)).join(''));
    closeSync(fd);
  });

  it('writes the UTF-8 of what it was given, byte for byte, past its chunk and for a line larger than one', async () => {
    dir ||= mkdtempSync(join(tmpdir(), 'vh-logdest-'));
    const file = join(dir, 'utf8.log');
    const fd = openSync(file, 'w');
    const d = new LogDestination({ fd });
    const lines: string[] = [];
    // Non-ASCII of each UTF-8 length, a pair, a lone surrogate (written as U+FFFD, as Buffer.from does).
    for (let i = 0; i < 2000; i++) lines.push(`{"i":${i},"s":"é€😀\ud800 ${'y'.repeat(i % 300)}"}\n`);
    lines.push(`{"big":"${'€'.repeat(200_000)}"}\n`);
    for (let i = 0; i < 10; i++) lines.push(`{"after":${i}}\n`);
    for (const l of lines) d.write(l);
    const want = Buffer.from(lines.join(''));
    await expect.poll(() => readFileSync(file).equals(want), { timeout: 10_000 }).toBe(true);
    // The chunk grown for the large line was not kept once its lines were handed over.
    expect((d as unknown as { chunk: Buffer }).chunk.length).toBeLessThanOrEqual(256 * 1024);
    closeSync(fd);
  });

  it('lets lines go once its file is closed (pino closes it at the end of the event loop): no throw, nothing held', async () => {
    dir ||= mkdtempSync(join(tmpdir(), 'vh-logdest-'));
    const fd = openSync(join(dir, 'closed.log'), 'w');
    const d = new LogDestination({ fd });
    d.end();
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 3; i++) {
      d.write('{"late":1}\n');
      await new Promise((r) => setImmediate(r));
    }
    const held = d as unknown as { used: number; start: number };
    expect(held.used - held.start).toBe(0);
    expect(() => d.flushSync()).not.toThrow();
  });
});
