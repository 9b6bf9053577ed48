// Instructions per answer from callgrind_annotate's exclusive listing (callgrind-lib.sh's
// annotate.txt): the total, V8's compilers and the garbage collector apart, "net" the rest, and
// SQLite's share of it.
//   node bench/tools/callgrind-sum.mjs <annotate.txt> <answers counted> [label] [unit=answer]
import { readFileSync } from 'node:fs';

const [file, n, label = '', unit = 'answer'] = process.argv.slice(2);
const t = readFileSync(file, 'utf8');
const num = (s) => Number(s.replace(/,/g, ''));
let total = 0;
for (const m of t.matchAll(/^\s*([\d,]+) .*PROGRAM TOTALS/gm)) total += num(m[1]);
let comp = 0,
  sqlite = 0,
  gc = 0;
for (const l of t.split('\n')) {
  const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(l);
  if (!m || /PROGRAM TOTALS/.test(l)) continue;
  const f = m[2];
  if (/compiler::|maglev|turboshaft|Maglev|Turboshaft/.test(f)) comp += num(m[1]);
  else if (
    /heap::|Heap::|Scaveng|IterateObjectCache|MarkCompact|Marking|Sweep|Evacuat|SizeFromMap|MemoryChunk|ActiveSystemPages|BodyDescriptorBase|__popcount|RelocIterator/.test(
      f,
    )
  )
    gc += num(m[1]);
  else if (/sqlite3|vdbe|Vdbe|Btree|btree|json[A-Z]|pcache|pager|Statement::/.test(f)) sqlite += num(m[1]);
}
const k = (x) => (x / Number(n) / 1000).toFixed(1) + 'k';
console.log(`${label}all ${k(total)}, compiler ${k(comp)}, gc ${k(gc)}, net ${k(total - comp - gc)} (sqlite ${k(sqlite)}) per ${unit}`);
