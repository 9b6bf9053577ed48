#!/usr/bin/env bash
# Where a server's CPU goes per answer, from the kernel's sampler rather than V8's (bench/README.md,
# "Hot paths, a fourteenth pass"): `perf record -e cpu-clock -g` on one process (all its threads)
# while wrk loads it with one of bench/tools/hot-serve.ts's request files, then the samples as
# microseconds per answer: the total, by binary (node, the kernel, JIT code, better-sqlite3, libc),
# and the top symbols. Start the server with `--perf-basic-prof` (HOT_SERVE_NODE_ARGS) for the
# names of JIT-compiled JS functions.
#
# Why not the V8 profile (HOT_BENCH_PROF) alone: on this VM kind its samples land where the main
# thread takes the profiler's signal, which is mostly at a system call's return; for getUserInfo
# it put 62% of the samples in `writev`, where perf, which samples from a timer interrupt, puts
# ~16%. Its proportions between JS functions still hold; its share for system calls does not.
#
#   bench/tools/perf-per-answer.sh <pid> <url> <request file> [seconds=4] [top=30]
#   (needs perf, Debian's linux-perf, and wrk; the request file and reqs.lua from hot-serve's OUT)
set -euo pipefail
pid=$1 url=$2 reqs=$3 secs=${4:-4} top=${5:-30}
dir=$(dirname "$reqs")
data=$(mktemp /tmp/perf-per-answer.XXXXXX)
trap 'rm -f "$data" "$data.old"' EXIT
# A warm-up outside the sample, so that JIT compilation is not counted.
WRK_THREADS=2 WRK_REQS=$reqs wrk -t2 -c32 -d2s -s "$dir/reqs.lua" "$url" > /dev/null
perf record -q -e cpu-clock -g -p "$pid" -o "$data" -- sleep $((secs + 1)) > /dev/null 2>&1 &
rec=$!
sleep 0.3
answers=$(WRK_THREADS=2 WRK_REQS=$reqs wrk -t2 -c32 -d"${secs}s" -s "$dir/reqs.lua" "$url" | awk '/requests in/{print $1}')
wait "$rec" || true
report() { perf report -i "$data" --stdio --no-children -g none "$@" 2>/dev/null; }
total=$(report --sort dso | awk '/Event count/{print $NF}')
# cpu-clock counts nanoseconds; the answers are wrk's (every request answered in the window).
per() { awk -v t="$total" -v n="$answers" '/^ +[0-9.]+%/{p=$1; sub("%","",p); $1=""; printf "%7.2f us %s\n", p/100*t/1000/n, substr($0,2,120)}'; }
echo "answers: $answers in ${secs} s; CPU per answer (all threads): $(awk -v t="$total" -v n="$answers" 'BEGIN{printf "%.2f", t/1000/n}') us"
echo "--- by binary"
report --sort dso | per | head -8
echo "--- top symbols"
report --sort dso,sym | per | head -"$top"
