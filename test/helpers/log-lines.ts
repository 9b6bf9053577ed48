/** A log destination for tests: every JSON line written to `sink` is parsed into `lines`. */
import { Writable } from 'node:stream';

export function jsonLogLines(): { lines: Record<string, unknown>[]; sink: Writable } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, sink };
}
