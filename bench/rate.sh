#!/usr/bin/env bash
# Benchmark of "sgseq rate" against an encoding/json baseline.
#
#   bench/rate.sh            # 1x: 100,000 contacts (~1.8 GB NDJSON)
#   bench/rate.sh 10x        # 10x: 1,000,000 contacts (~18 GB)
#   bench/rate.sh all        # both
#
# It builds sgseq, the generator (rating/gen/cmd/sggen) and the baseline
# (bench/baseline) into bench/data/, generates the data set once (seeded,
# reproducible; bench/data/ is git-ignored), warms the page cache, then runs
# each program under /usr/bin/time -v and prints MB/s, events/s and peak RSS.
# Results are also appended to bench/results/rate.tsv.
#
# Environment: SEED (default 1), RUNS (timed runs per program, default 1;
# the best is reported), BASELINE=0 to skip the baseline, KEEP=0 to delete a
# generated file after its run.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${SEED:-1}
GENVER=3 # bump when the generator's output changes
RUNS=${RUNS:-1}
BASELINE=${BASELINE:-1}
KEEP=${KEEP:-1}
which=${1:-1x}

mkdir -p bench/data bench/results
go build -o bench/data/sgseq ./cmd/sgseq
go build -o bench/data/sggen ./rating/gen/cmd/sggen
go build -o bench/data/baseline ./bench/baseline

# gen CONTACTS FILE: generate unless an identical file is already there.
gen() {
	local contacts=$1 file=$2 stamp="$2.stamp"
	if [[ -s $file && -f $stamp && $(cat "$stamp") == "$contacts $SEED $GENVER" ]]; then
		return
	fi
	# About 19 kB per contact; keep 2 GB spare.
	local need=$((contacts * 19500 / 1024 / 1024 + 2048))
	local avail
	avail=$(df -Pm bench/data | awk 'NR==2 {print $4}')
	if ((avail < need)); then
		echo "rate.sh: not enough disk for $contacts contacts: need ${need} MB, have ${avail} MB" >&2
		return 1
	fi
	echo "generating $contacts contacts into $file ..." >&2
	bench/data/sggen -contacts "$contacts" -seed "$SEED" -o "$file"
	echo "$contacts $SEED $GENVER" >"$stamp"
}

# measure LABEL FILE CMD...: run CMD under /usr/bin/time -v, print a line.
measure() {
	local label=$1 file=$2
	shift 2
	local bytes best_s="" best_rss="" best_line="" log
	bytes=$(stat -c %s "$file")
	log=$(mktemp)
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -v "$@" >"$log.out" 2>"$log"
		local wall rss user sys events
		wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
		rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
		user=$(awk -F': ' '/User time/ {print $2}' "$log")
		sys=$(awk -F': ' '/System time/ {print $2}' "$log")
		# Events: from the sgseq summary or the baseline's line.
		events=$(grep -ohE 'events: read [0-9]+|[0-9]+ events read' "$log" "$log.out" | grep -oE '[0-9]+' | head -1 || true)
		if [[ -z $best_s ]] || awk -v a="$wall" -v b="$best_s" 'BEGIN {exit !(a < b)}'; then
			best_s=$wall
			best_rss=$rss
			best_line=$(awk -v l="$label" -v b="$bytes" -v s="$wall" -v r="$rss" -v u="$user" -v y="$sys" -v e="${events:-0}" 'BEGIN {
				printf "%-22s %8.2f s  %7.0f MB/s  %10.0f events/s  peak RSS %5.0f MB  (user %.2f s, sys %.2f s, %.2f GB, %d events)\n",
					l, s, b / 1e6 / s, e / s, r / 1024, u, y, b / 1e9, e }')
		fi
	done
	rm -f "$log" "$log.out"
	echo "$best_line"
	printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$label" "$bytes" "$best_s" "$best_rss" >>bench/results/rate.tsv
}

run() {
	local name=$1 contacts=$2
	local file=bench/data/events-$name.ndjson
	gen "$contacts" "$file"
	echo "== $name: $contacts contacts, $(stat -c %s "$file") bytes, $(nproc) cores" >&2
	cat "$file" >/dev/null # warm the page cache
	measure "sgseq rate ($name)" "$file" bench/data/sgseq rate "$file" -o csv --out /dev/null
	if [[ $BASELINE == 1 ]]; then
		measure "baseline ($name)" "$file" bench/data/baseline "$file"
	fi
	if [[ $KEEP == 0 ]]; then
		rm -f "$file" "$file.stamp"
	fi
}

case $which in
1x) run 100k 100000 ;;
10x) run 1m 1000000 ;;
all)
	run 100k 100000
	run 1m 1000000
	;;
*)
	echo "usage: bench/rate.sh [1x|10x|all]" >&2
	exit 2
	;;
esac
