/**
 * Keeps one of node's `process.nextTick` tick objects alive for the life of the process (main.ts
 * loads this first, with heap-settings.ts). Node 20 builds each tick object with a literal whose
 * first two keys are computed (`{[async_id_symbol]: ..., [trigger_async_id_symbol]: ..., callback,
 * args}`), and V8 gives each of those key definitions an inline cache keyed by the object's hidden
 * class (map). When a full garbage collection finds no tick object alive (between two event-loop
 * turns, e.g. during a long synchronous import), the maps after the first key die with them; the
 * next ticks make new ones, the caches see one map after another, go megamorphic, and from then
 * on every tick object is built through V8's runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`,
 * `MigrateToMap`, ...). The streams tick ~5-7 times per HTTP answer: in the processes where that
 * happened it was ~34k more instructions per getUserInfo answer (callgrind, +24%; bench/README.md
 * "Hot paths, an eighth pass"), and which processes it hit was chance. One tick object held keeps
 * its map chain alive (each map holds its parent), so the caches stay monomorphic.
 *
 * Node 24 builds it the same way with a third computed key (kAsyncContextFrame), and its caches
 * go the same way without the hold (test/platform/tick-shape.test.ts runs the check on both).
 *
 * Inside a tick's callback `executionAsyncResource()` is that tick object (node 20's task queue
 * enters it as the async resource). On a node where it is something else, this keeps that small
 * object instead and changes nothing.
 */
import { executionAsyncResource } from 'node:async_hooks';

let held: object | undefined;
process.nextTick(() => {
  held = executionAsyncResource();
});

/** The tick object held (for the test). */
export const heldTickObject = (): object | undefined => held;
