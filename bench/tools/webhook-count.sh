#!/usr/bin/env bash
# Instructions per webhook message of one rung of bench/webhook-ladder.ts under callgrind
# (bench/README.md, "Hot paths, a ninth pass: the webhook"): a fresh copy of the seeded data
# directory, WARM messages (8 keep-alive clients), then instrumentation on, A messages, dump,
# B messages, dump; the second dump / B is the count. Prints the total and V8's compiler apart.
#   bench/tools/webhook-count.sh <tree> <seed dir> <rung> <out dir> [WARM=30000] [A=1500] [B=3000]
set -euo pipefail
tree=$1 seed=$2 rung=$3 out=$4 warm=${5:-30000} a=${6:-1500} b=${7:-3000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
rm -rf "$out/data" "$out"/cg.* && cp -a "$seed" "$out/data"
cd "$tree"
RUNG=$rung DATA_DIR=$out/data valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
  node --import tsx bench/webhook-ladder.ts >"$out/access.log" 2>"$out/server.err" &
for _ in $(seq 600); do grep -q '^PORT' "$out/server.err" 2>/dev/null && break; sleep 1; done
read -r _ port _ pid < <(grep '^PORT' "$out/server.err")
url=http://127.0.0.1:$port
# Signatures are valid for 300 s: the warm-up's messages first, the windows' signed after it.
mkdir -p "$out/warm"
GEN=1 N="$warm" DATA_DIR=$out/data OUT=$out/warm node --import tsx bench/webhook-ladder.ts
node "$here/hot-count.mjs" "$url" "$out/warm/webhook.tsv" "$warm" 8 0
GEN=1 N=$((a + b)) DATA_DIR=$out/data OUT=$out node --import tsx bench/webhook-ladder.ts
# The dumps are numbered files; another user's `callgrind_control -d` without a pid dumps every
# callgrind process, so the window is every file after our first dump up to our second.
lastdump() { ls "$out"/cg."$pid".* 2>/dev/null | sed 's/.*\.//' | sort -n | tail -1; }
callgrind_control -i on "$pid" >/dev/null
node "$here/hot-count.mjs" "$url" "$out/webhook.tsv" "$a" 8 0
callgrind_control -d "$pid" >/dev/null
first=$(lastdump)
node "$here/hot-count.mjs" "$url" "$out/webhook.tsv" "$b" 8 "$a"
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
  else if (/better_sqlite3|sqlite3/.test(f)) sqlite += num(m[1]);
  else if (/heap::|Scavenge|Heap::|IterateObjectCache|MarkCompact/.test(f)) gc += num(m[1]);
}
const k = (x) => (x / n / 1000).toFixed(1) + "k";
console.log(`rung ${process.argv[3]}: all ${k(total)}, compiler ${k(comp)}, rest ${k(total - comp)} (sqlite ${k(sqlite)}, gc ${k(gc)}) per message`);
' "$out/annotate.txt" "$b" "$rung"
