#!/usr/bin/env bash
# Performance gate for CI (issue 9) that a noisy machine cannot fool: a small generated survey is
# classified (`povrules classify --threads 1`) and read alone (survey-bench: the reading pass, no
# rules) in the same run, alternately, and the ratio of their best CPU times is compared with the
# committed bound in bench/ci-gate-bound.txt. Load slows both alike, so the ratio stays put; a
# classification that gets several times slower than the reading pass fails. Also checks that
# one thread and all cores give byte-identical output.
#
#   bench/ci-gate.sh BIN            # BIN: the povrules binary; survey-gen and survey-bench beside it
#   GATE_HOUSEHOLDS=50000 GATE_REPS=3 bench/ci-gate.sh .build/debug/povrules
#
# The bound depends on the build mode (debug code is slower, and not equally so everywhere): the
# file holds one bound per mode, "debug N" and "release N".
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: bench/ci-gate.sh PATH/TO/povrules}"
dir="$(cd "$(dirname "$bin")" && pwd)"
n="${GATE_HOUSEHOLDS:-10000}"
reps="${GATE_REPS:-3}"
mode=release
case "$dir" in *debug*) mode=debug ;; esac
bound="$(awk -v m="$mode" '$1 == m { print $2 }' bench/ci-gate-bound.txt)"
[ -n "$bound" ] || { echo "ci-gate: no '$mode' bound in bench/ci-gate-bound.txt" >&2; exit 2; }
for tool in survey-gen survey-bench; do
    [ -x "$dir/$tool" ] || { echo "ci-gate: $dir/$tool is missing (swift build builds it)" >&2; exit 2; }
done

work="bench/work/gate-$n"
if [ ! -f "$work/.generated" ]; then
    mkdir -p "$work"
    "$dir/survey-gen" --households "$n" --seed 3 --out "$work" >/dev/null 2>&1
    touch "$work/.generated"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cpu() { # CPU seconds (user + system) of a command, from /usr/bin/time
    /usr/bin/time -f "%U %S" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
    awk '{ printf "%.3f", $1 + $2 }' "$tmp/t"
}
best_c=""; best_r=""
for _ in $(seq "$reps"); do
    c="$(cpu "$bin" classify "$work" --threads 1 -o "$tmp/one.csv")"
    r="$(cpu "$dir/survey-bench" --dir "$work")"
    best_c="$(awk -v a="$c" -v b="$best_c" 'BEGIN { print (b == "" || a < b) ? a : b }')"
    best_r="$(awk -v a="$r" -v b="$best_r" 'BEGIN { print (b == "" || a < b) ? a : b }')"
done
"$bin" classify "$work" -o "$tmp/all.csv" 2>/dev/null
if ! cmp -s "$tmp/one.csv" "$tmp/all.csv"; then
    echo "ci-gate: FAIL: classify output differs between --threads 1 and all cores" >&2
    exit 1
fi
ratio="$(awk -v c="$best_c" -v r="$best_r" 'BEGIN { printf "%.2f", (r > 0 ? c / r : 999) }')"
echo "ci-gate ($mode, $n households): classify ${best_c}s CPU, reading pass ${best_r}s CPU, ratio $ratio (bound $bound)"
if awk -v x="$ratio" -v b="$bound" 'BEGIN { exit !(x > b) }'; then
    echo "ci-gate: FAIL: classification costs $ratio × the reading pass, above the bound $bound" >&2
    exit 1
fi
