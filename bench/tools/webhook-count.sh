#!/usr/bin/env bash
# Instructions per webhook message of one rung of bench/webhook-ladder.ts under callgrind
# (bench/README.md, "Hot paths, a ninth pass: the webhook"): a fresh copy of the seeded data
# directory, WARM messages (8 keep-alive clients), then instrumentation on, A messages, dump,
# B messages, dump; the second dump / B is the count. Prints the total, V8's compiler and the GC
# apart, and the rest ("net").
#   bench/tools/webhook-count.sh <tree> <seed dir> <rung> <out dir> [WARM=30000] [A=1500] [B=3000]
set -euo pipefail
tree=$1 seed=$2 rung=$3 out=$4 warm=${5:-30000} a=${6:-1500} b=${7:-3000}
source "$(dirname "$0")/callgrind-lib.sh"
cg_serve bench/webhook-ladder.ts "$rung"
# Signatures are valid for 300 s: the warm-up's messages first, the windows' signed after it.
mkdir -p "$out/warm"
GEN=1 N="$warm" DATA_DIR=$out/data OUT=$out/warm node --import tsx bench/webhook-ladder.ts
node "$here/hot-count.mjs" "$url" "$out/warm/webhook.tsv" "$warm" 8 0
GEN=1 N=$((a + b)) DATA_DIR=$out/data OUT=$out node --import tsx bench/webhook-ladder.ts
cg_window "$out/webhook.tsv" "$a" 0 "$b" "$a"
node "$here/callgrind-sum.mjs" "$out/annotate.txt" "$b" "rung $rung: " message
