# Shared by the callgrind counters (hot-callgrind.sh, webhook-count.sh): sourced, with `tree`,
# `seed` and `out` set. bench/README.md, "Hot paths, an eighth pass" and "a ninth pass".
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# cg_serve <ladder.ts> <rung>: a fresh copy of the seeded data directory, the ladder's rung under
# callgrind with instrumentation off; sets `pid` and `url`.
cg_serve() {
  mkdir -p "$out"
  rm -rf "$out/data" "$out"/cg.* && cp -a "$seed" "$out/data"
  cd "$tree"
  RUNG=$2 DATA_DIR=$out/data valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
    node --import tsx "$1" >"$out/access.log" 2>"$out/server.err" &
  for _ in $(seq 600); do grep -q '^PORT' "$out/server.err" 2>/dev/null && break; sleep 1; done
  read -r _ port _ pid < <(grep '^PORT' "$out/server.err")
  url=http://127.0.0.1:$port
}

# The dumps are numbered files; another user's `callgrind_control -d` without a pid dumps every
# callgrind process, so the window is every file after our first dump up to our second.
cg_lastdump() { ls "$out"/cg."$pid".* 2>/dev/null | sed 's/.*\.//' | sort -n | tail -1; }

# cg_window <tsv> <A> <offset of A> <B> <offset of B>: instrumentation on, A requests, dump, B
# requests, dump, the server stopped; the second window's annotation (exclusive) in annotate.txt,
# inclusive in incl.txt.
cg_window() {
  callgrind_control -i on "$pid" >/dev/null
  node "$here/hot-count.mjs" "$url" "$1" "$2" 8 "$3"
  callgrind_control -d "$pid" >/dev/null
  local first second k
  first=$(cg_lastdump)
  node "$here/hot-count.mjs" "$url" "$1" "$4" 8 "$5"
  callgrind_control -d "$pid" >/dev/null
  second=$(cg_lastdump)
  kill "$pid"
  sleep 2
  : >"$out/annotate.txt"
  : >"$out/incl.txt"
  for k in $(seq $((first + 1)) "$second"); do
    callgrind_annotate --inclusive=no --threshold=100 "$out/cg.$pid.$k" >>"$out/annotate.txt"
    callgrind_annotate --inclusive=yes --threshold=99 "$out/cg.$pid.$k" >>"$out/incl.txt"
  done
  [ $((second - first)) -eq 1 ] || echo "note: the window is $((second - first)) dump files (someone else's dumps in between)"
}
