/**
 * V8 heap settings of the service, applied before anything else is loaded (main.ts imports this
 * module first). `--optimize-for-size` makes V8 grow the heap by a smaller factor after each
 * full collection and keep the young generation small, so the heap stays near what is live
 * instead of growing to two or three times that between collections (issue 15: idle under
 * 100 MB resident, the peak while sending flat). Measured with bench/memory.bench.ts (see
 * bench/README.md for the figures and the CPU it costs). `--max-semi-space-size` would do the
 * young generation's part too, but V8 reads it only when the process starts, and operators
 * start the service as `node dist/main.js serve` (README's systemd unit), so it is not used here.
 *
 * An operator who wants V8's defaults back passes `--no-optimize-for-size` (on the command line
 * or in NODE_OPTIONS): then nothing is changed here.
 */
import { setFlagsFromString } from 'node:v8';

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (!given.some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a))) setFlagsFromString('--optimize-for-size');
