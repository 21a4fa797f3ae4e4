#!/usr/bin/env bash
# Benchmark of "sgseq rate --events": a first (full) run over 59 of 60 days
# of a generated 100,000-contact feed, then, after importing the last day,
# a second (incremental) run. The second run's output is checked against
# "sgseq rate" over "sgseq events export".
#
#   bench/incremental.sh            # CONTACTS=100000 DAYS=60 RUNS=3
#
# Data and the store go to bench/data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${CONTACTS:-100000}
DAYS=${DAYS:-60}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
D=bench/data/incremental
mkdir -p "$D"
go build -o bench/data/sgseq ./cmd/sgseq
go build -o bench/data/sggen ./rating/gen/cmd/sggen
S=bench/data/sgseq

feed=$D/feed-$CONTACTS-$DAYS-$SEED.ndjson
if [[ ! -s $feed ]]; then
	bench/data/sggen -contacts "$CONTACTS" -days "$DAYS" -seed "$SEED" -o "$feed"
fi
# The last day: events whose timestamp is within 24 h of the newest.
newest=$(grep -o '"timestamp":[0-9]*' "$feed" | cut -d: -f2 | sort -n | tail -1)
cut=$((newest - 86400))
awk -v cut="$cut" -v a="$D/first.ndjson" -v b="$D/last.ndjson" '{
	match($0, /"timestamp":[0-9]+/); t = substr($0, RSTART + 12, RLENGTH - 12) + 0
	if (t <= cut) print > a; else print > b }' "$feed"
echo "feed: $(wc -l <"$feed") events; first $DAYS-1 days: $(wc -l <"$D/first.ndjson"), last day: $(wc -l <"$D/last.ndjson")" >&2

# t LABEL CMD...: wall and user+sys seconds of CMD.
t() {
	local label=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$D/time" "$@"
	read -r wall user sys <"$D/time"
	printf '%-34s wall %6.3f s  cpu %6.3f s\n' "$label" "$wall" "$(echo "$user + $sys" | bc)"
}

for ((r = 1; r <= RUNS; r++)); do
	rm -rf "$D/store"
	$S events import --dir "$D/store" "$D/first.ndjson" >/dev/null
	cat "$D"/store/segments/* >/dev/null # page cache, as for a running store
	t "run $r: first (full), 59 days" $S rate --events "$D/store" -q -o csv --out "$D/first.csv"
	$S events import --dir "$D/store" "$D/last.ndjson" >/dev/null
	t "run $r: second (incremental), +1 day" $S rate --events "$D/store" -o csv --out "$D/second.csv" 2>"$D/second.log"
	head -1 "$D/second.log" >&2
done
$S events export --dir "$D/store" >"$D/export.ndjson"
$S rate -q -o csv --out "$D/scratch.csv" "$D/export.ndjson"
if cmp -s "$D/second.csv" "$D/scratch.csv"; then
	echo "incremental output identical to sgseq rate over sgseq events export ($(wc -l <"$D/scratch.csv") lines)" >&2
else
	echo "MISMATCH: incremental output differs from rating from scratch" >&2
	exit 1
fi
$S events stats --dir "$D/store" | head -6 >&2
