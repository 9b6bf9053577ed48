/**
 * V8 heap settings of the service, applied before anything else is loaded: the entry (main.ts)
 * imports this module first, and nothing else in src/ may import it, since loading it sets a
 * process-wide V8 flag (test/platform/heap-mode.test.ts keeps the certificates module free of it).
 * What the service switches while it runs (`preferSpeed`, `holdSize`) is in heap-mode.ts, which
 * has no effect when loaded.
 *
 * `--optimize-for-size` makes V8 grow the heap by a smaller factor after each
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
 * cannot: the command line's flag wins over it). `--no-optimize-for-size` or `--optimize-for-size`
 * given by the operator (command line or NODE_OPTIONS) leaves the flag to them (heap-mode.ts).
 */
import { manageHeap } from './heap-mode.js';

manageHeap();
