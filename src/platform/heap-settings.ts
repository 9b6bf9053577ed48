/**
 * V8 heap settings of the service, applied before anything else is loaded (main.ts imports this
 * module first). `--optimize-for-size` makes V8 grow the heap by a smaller factor after each
 * full collection and keep the young generation small, so the heap stays near what is live
 * instead of growing to two or three times that between collections (issue 15: idle under
 * 100 MB resident, the peak while sending flat). Measured with bench/memory.bench.ts (see
 * bench/README.md for the figures and the CPU it costs).
 *
 * The young generation's cap is not set here: `--optimize-for-size` set at run time does not cap
 * it, and `--max-semi-space-size`, which does, is read by V8 only when the process starts. So it
 * is on the command line operators run: `npm start` is `node --max-semi-space-size=8 dist/main.js
 * serve`, as is the README's systemd unit (test/platform/start-command.test.ts keeps them so).
 * Without it the new space grows to 32 MB while a campaign is sent, and 100,000 notices peaked at
 * 152-157 MB (issue 15's target: under 150); with it at 8, 135 MB (bench/README.md, "Latest
 * memory (mem5)"). An operator undoes it by starting `node dist/main.js serve` without the flag,
 * or changes it by starting `node --max-semi-space-size=<MB> dist/main.js serve` (NODE_OPTIONS
 * cannot: the command line's flag wins over it).
 *
 * An operator who wants V8's defaults back passes `--no-optimize-for-size` (on the command line
 * or in NODE_OPTIONS): then nothing is changed here.
 */
import { setFlagsFromString } from 'node:v8';

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (!given.some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a))) setFlagsFromString('--optimize-for-size');
