#!/usr/bin/env bash
# The rate-bound backfill benchmark of issue 10: 10,000 subusers x 20 days
# through 20 requests per 2-second window on each SEQ endpoint, 250-350 ms
# latency, 7 dates answering 202 once or twice. Runs one iteration per
# window phase (0, 0.5, 1, 1.5 s) and prints the per-phase lines and the
# means: x-bound (wall / ((requests - burst) / rate)), x-ideal (wall / the
# fixed-window ideal), %429. Usage: bench/backfill.sh [iterations, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench '^BenchmarkBackfillRateBound$' -benchtime "${n}x" -v ./monitor/ |
  grep -E 'phase|ns/op'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
