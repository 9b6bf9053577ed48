/**
 * tick-shape.ts keeps one of node's nextTick tick objects alive, so that the hidden classes
 * (maps) of tick objects survive full garbage collections and V8's caches for the tick object's
 * literal stay monomorphic (bench/README.md, "Hot paths, an eighth pass"). This pins what it relies
 * on: inside a tick's callback, executionAsyncResource() is the tick object.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { heldTickObject } from '../../src/platform/tick-shape.js';

describe('tick-shape', () => {
  it("holds a tick object: the literal's two symbol keys, callback and args", async () => {
    await new Promise((r) => process.nextTick(r));
    const held = heldTickObject()!;
    // Node 24's literal has a third computed key (kAsyncContextFrame), and an AsyncLocalStorage
    // in use stores its value on the resource (kResourceStore): the first two are the literal's.
    expect(Object.getOwnPropertySymbols(held).map(String).slice(0, 2)).toEqual([
      'Symbol(async_id_symbol)',
      'Symbol(trigger_async_id_symbol)',
    ]);
    expect(Object.keys(held)).toEqual(['callback', 'args']);
  });

  it("keeps the tick literal's key caches monomorphic through full collections with no tick alive", () => {
    // Ticks in batches with a full GC between them (when no tick object is alive), then V8's view
    // of nextTick's feedback: without a held tick object its computed-key defines go megamorphic.
    const script = (hold: boolean) => `
      ${hold ? "process.nextTick(() => { globalThis.held = require('node:async_hooks').executionAsyncResource(); });" : ''}
      let k = 0; const f = () => {};
      function batch() {
        for (let i = 0; i < 1000; i++) process.nextTick(f, i);
        if (++k % 50 === 0) setImmediate(() => { gc(); setImmediate(batch); });
        else if (k < 600) setImmediate(batch);
        else %DebugPrint(process.nextTick);
      }
      batch();`;
    const states = (hold: boolean) => {
      const r = spawnSync(process.execPath, ['--expose-gc', '--allow-natives-syntax', '-e', script(hold)], { encoding: 'utf8' });
      return [...r.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]);
    };
    const held = states(true);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((s) => s === 'MONOMORPHIC')).toBe(true);
    // Without it (what tick-shape.ts prevents), in the same conditions:
    expect(states(false)).toContain('MEGAMORPHIC');
  });
});
