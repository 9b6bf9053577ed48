#!/usr/bin/env bash
# Instructions per answer of the whole app (bench/hot-ladder.ts rung 4) under callgrind, for a
# hot-serve request file (bench/README.md, "Hot paths, an eleventh pass"): a fresh copy of a data
# directory seeded by bench/tools/hot-serve.ts, WARM answers over 8 keep-alive clients, then
# instrumentation on, A answers, dump, B answers, dump; the second dump / B is the count. Prints
# the total, V8's compiler and the GC apart, and the rest ("net").
#   bench/tools/hot-callgrind.sh <tree> <seed dir> <requests.tsv> <out dir> [WARM=20000] [A=2000] [B=4000]
set -euo pipefail
tree=$1 seed=$2 tsv=$3 out=$4 warm=${5:-20000} a=${6:-2000} b=${7:-4000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
rm -rf "$out/data" "$out"/cg.* && cp -a "$seed" "$out/data"
cd "$tree"
RUNG=4 DATA_DIR=$out/data valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
  node --import tsx bench/hot-ladder.ts >"$out/access.log" 2>"$out/server.err" &
for _ in $(seq 600); do grep -q '^PORT' "$out/server.err" 2>/dev/null && break; sleep 1; done
read -r _ port _ pid < <(grep '^PORT' "$out/server.err")
url=http://127.0.0.1:$port
node "$here/hot-count.mjs" "$url" "$tsv" "$warm" 8 0
# Another user's `callgrind_control -d` without a pid dumps every callgrind process: the window
# is every dump file after our first dump up to our second.
lastdump() { ls "$out"/cg."$pid".* 2>/dev/null | sed 's/.*\.//' | sort -n | tail -1; }
callgrind_control -i on "$pid" >/dev/null
node "$here/hot-count.mjs" "$url" "$tsv" "$a" 8 "$warm"
callgrind_control -d "$pid" >/dev/null
first=$(lastdump)
node "$here/hot-count.mjs" "$url" "$tsv" "$b" 8 $((warm + a))
callgrind_control -d "$pid" >/dev/null
second=$(lastdump)
kill "$pid"
sleep 2
: >"$out/annotate.txt"
for k in $(seq $((first + 1)) "$second"); do
  callgrind_annotate --inclusive=no --threshold=100 "$out/cg.$pid.$k" >>"$out/annotate.txt"
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
  else if (/heap::|Scavenge|Heap::|IterateObjectCache|MarkCompact|Marking|Sweeper|MemoryChunk|ActiveSystemPages|__popcount|SizeFromMap|BodyDescriptorBase/.test(f)) gc += num(m[1]);
  else if (/sqlite3|vdbe|Vdbe|Btree|btree|json[A-Z]|pcache|pager|Statement::/.test(f)) sqlite += num(m[1]);
}
const k = (x) => (x / n / 1000).toFixed(1) + "k";
console.log(`all ${k(total)}, compiler ${k(comp)}, gc ${k(gc)}, net ${k(total - comp - gc)} (sqlite ${k(sqlite)}) per answer`);
' "$out/annotate.txt" "$b"
