#!/usr/bin/env bash
# Instructions per answer of one rung of bench/hot-ladder.ts (RUNG, default 4: the whole app; 0:
# the floor) under callgrind, for a hot-serve request file (getUserInfo.tsv, get.tsv; bench/README.md,
# "Hot paths, an eleventh pass"): a fresh copy of a data directory seeded by bench/tools/hot-serve.ts,
# WARM answers over 8 keep-alive clients, then instrumentation on, A answers, dump, B answers, dump;
# the second dump / B is the count. Prints the total, V8's compiler and the GC apart, and the rest
# ("net"); keeps the annotation (annotate.txt, inclusive: incl.txt).
#   [RUNG=4] bench/tools/hot-callgrind.sh <tree> <seed dir> <requests.tsv> <out dir> [WARM=20000] [A=2000] [B=4000]
set -euo pipefail
tree=$1 seed=$2 tsv=$3 out=$4 warm=${5:-20000} a=${6:-2000} b=${7:-4000} rung=${RUNG:-4}
source "$(dirname "$0")/callgrind-lib.sh"
cg_serve bench/hot-ladder.ts "$rung"
node "$here/hot-count.mjs" "$url" "$tsv" "$warm" 8 0
cg_window "$tsv" "$a" "$warm" "$b" $((warm + a))
node "$here/callgrind-sum.mjs" "$out/annotate.txt" "$b" "rung $rung: "
