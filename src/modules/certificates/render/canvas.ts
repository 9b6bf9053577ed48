/**
 * @napi-rs/canvas, loaded on first use: Skia is ~30 MB of resident memory (its native library
 * mapped, its allocations) that a service which has not rendered anything yet does not need
 * (issue 15: idle under 100 MB). Everything that draws gets the module through `skia()`;
 * types are imported as types (erased), so nothing else loads it.
 */
import { createRequire } from 'node:module';

type CanvasModule = typeof import('@napi-rs/canvas');

let mod: CanvasModule | undefined;

export function skia(): CanvasModule {
  return (mod ??= createRequire(import.meta.url)('@napi-rs/canvas') as CanvasModule);
}
