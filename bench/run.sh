#!/usr/bin/env bash
# National-scale benchmark (issue 9): builds release, generates surveys of 100 thousand, 1 million
# and 5 million households (cached in bench/work/), and measures the reading pass, `povrules
# classify` end to end on one core and on all cores (outputs compared with cmp) and the same
# classification in DuckDB (bench/duckdb/classify.sql), with peak resident memory for each.
# Results: bench/results/*.json; summary in docs/performance.md.
#
#   bench/run.sh                     # 100k, 1M, 5M
#   bench/run.sh 100000 1000000      # chosen sizes
#   BENCH_REPS=3 bench/run.sh 100000 # fastest of 3 runs per measurement
#   BUILD_DIR=.build-perf bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-.build-bench}"
for product in povrules survey-gen survey-bench; do
    swift build -c release --scratch-path "$build" --product "$product" >&2
done
python3 -c "import duckdb" 2>/dev/null || pip install --quiet duckdb >&2
exec python3 bench/run.py "$build/release" "$@"
