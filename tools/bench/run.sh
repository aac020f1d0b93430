#!/usr/bin/env bash
# make bench: how fast goprof-report is on a big recording. Builds a Go
# program with over 50,000 functions (genprog.py), writes a sample file of
# 1,000,000 samples over 10,000 distinct stacks in it (gen_samples), and
# times goprof-report in every output format: the median wall time of
# RUNS runs and the peak RSS (/usr/bin/time). Prints a table; the targets
# (2 s, 300 MB) are shown next to the numbers, never enforced: a benchmark
# informs, it does not fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
GO=${GO:-go}
RUNS=${RUNS:-5}
mkdir -p "$B"

if [ ! -x "$B/bigprog" ]; then
    echo "bench: generating and building a Go program with many functions (once)..."
    rm -rf "$B/bigprog-src"
    python3 tools/bench/genprog.py "$B/bigprog-src"
    (cd "$B/bigprog-src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
        "$GO" build -o ../bigprog.tmp .)
    mv "$B/bigprog.tmp" "$B/bigprog"
fi
nfuncs=$("$GO" tool nm "$B/bigprog" | awk '$2 == "T" || $2 == "t"' | wc -l)
if [ ! -s "$B/samples.zst" ] || [ "$B/samples.zst" -ot "$B/bigprog" ] ||
   [ "$B/samples.zst" -ot "$B/gen_samples" ]; then
    "$B/gen_samples" "$B/bigprog" "$B/samples.zst" 1000000 10000
fi

TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: /usr/bin/time is missing (apt-get install time)"; exit 1; }

# One run: "seconds peak_kb"
measure() {
    "$TIME" -f "%e %M" -o "$B/time.out" build/goprof-report -q "$@" -o "$B/out" "$B/samples.zst" \
        2>"$B/err.out" || { cat "$B/err.out" >&2; return 1; }
    cat "$B/time.out"
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

distinct=$(build/goprof-report -q --format=folded "$B/samples.zst" | tr ';' '\n' |
           sed 's/ [0-9]*$//' | sort -u | wc -l)
samples=$(build/goprof-report -q --format=folded "$B/samples.zst" | awk '{n += $NF} END {print n}')
echo
echo "goprof-report on $B/samples.zst: $samples samples, 10000 stacks, $distinct distinct"
echo "functions in the stacks, binary with $nfuncs functions; median of $RUNS runs"
echo
printf "%-8s %10s %12s %14s\n" format "time (s)" "peak RSS" "target"
for fmt in pprof folded svg top; do
    times=() rss=0
    for _ in $(seq "$RUNS"); do
        read -r t kb < <(measure --format=$fmt)
        times+=("$t")
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    med=$(printf "%s\n" "${times[@]}" | median)
    verdict=$(awk -v t="$med" -v m="$rss" 'BEGIN {
        print (t < 2 && m < 300 * 1024) ? "met" : "MISSED" }')
    printf "%-8s %10s %9d MB %14s\n" "$fmt" "$med" $((rss / 1024)) "<2 s, <300 MB: $verdict"
done
