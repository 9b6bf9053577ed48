#!/usr/bin/env bash
# Instructions per getUserInfo answer of one rung of bench/hot-ladder.ts (4: the whole app, 0: the
# floor) under callgrind (bench/README.md, "Hot paths, an eleventh pass"): a fresh copy of a
# seeded hotpaths data directory, WARM answers (8 keep-alive clients), then instrumentation on,
# A answers, dump, B answers, dump; the second dump / B is the count. Prints the total, V8's
# compiler and the GC apart, and keeps the annotation (annotate.txt, inclusive: incl.txt).
#   bench/tools/getuserinfo-count.sh <tree> <seed dir> <rung> <out dir> <getUserInfo.tsv> [WARM=20000] [A=2000] [B=4000]
set -euo pipefail
tree=$1 seed=$2 rung=$3 out=$4 reqs=$5 warm=${6:-20000} a=${7:-2000} b=${8:-4000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
rm -rf "$out/data" "$out"/cg.* && cp -a "$seed" "$out/data"
cd "$tree"
RUNG=$rung DATA_DIR=$out/data valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
  node --import tsx bench/hot-ladder.ts >"$out/access.log" 2>"$out/server.err" &
for _ in $(seq 600); do grep -q '^PORT' "$out/server.err" 2>/dev/null && break; sleep 1; done
read -r _ port _ pid < <(grep '^PORT' "$out/server.err")
url=http://127.0.0.1:$port
node "$here/hot-count.mjs" "$url" "$reqs" "$warm" 8 0
lastdump() { ls "$out"/cg."$pid".* 2>/dev/null | sed 's/.*\.//' | sort -n | tail -1; }
callgrind_control -i on "$pid" >/dev/null
node "$here/hot-count.mjs" "$url" "$reqs" "$a" 8 "$warm"
callgrind_control -d "$pid" >/dev/null
first=$(lastdump)
node "$here/hot-count.mjs" "$url" "$reqs" "$b" 8 $((warm + a))
callgrind_control -d "$pid" >/dev/null
second=$(lastdump)
kill "$pid"
sleep 2
: >"$out/annotate.txt"
: >"$out/incl.txt"
for k in $(seq $((first + 1)) "$second"); do
  callgrind_annotate --inclusive=no --threshold=100 "$out/cg.$pid.$k" >>"$out/annotate.txt"
  callgrind_annotate --inclusive=yes --threshold=99 "$out/cg.$pid.$k" >>"$out/incl.txt"
done
[ $((second - first)) -eq 1 ] || echo "note: the window is $((second - first)) dump files (someone else's dumps in between)"
node -e '
const t = require("fs").readFileSync(process.argv[1], "utf8"), n = Number(process.argv[2]);
const num = (s) => Number(s.replace(/,/g, ""));
let total = 0;
for (const m of t.matchAll(/^\s*([\d,]+) .*PROGRAM TOTALS/gm)) total += num(m[1]);
let comp = 0, sqlite = 0, gc = 0;
for (const l of t.split("\n")) {
  const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(l);
  if (!m || /PROGRAM TOTALS/.test(l)) continue;
  const f = m[2];
  if (/compiler::|maglev|turboshaft|Maglev|Turboshaft/.test(f)) comp += num(m[1]);
  else if (/better_sqlite3|sqlite3/.test(f)) sqlite += num(m[1]);
  else if (/heap::|Heap::|Scaveng|IterateObjectCache|MarkCompact|Marking|Sweep|Evacuat|SizeFromMap|MemoryChunk|__popcount|RelocIterator/.test(f)) gc += num(m[1]);
}
const k = (x) => (x / n / 1000).toFixed(1) + "k";
console.log(`rung ${process.argv[3]}: all ${k(total)}, compiler ${k(comp)}, gc ${k(gc)}, net ${k(total - comp - gc)} (sqlite ${k(sqlite)}) per answer`);
' "$out/annotate.txt" "$b" "$rung"
