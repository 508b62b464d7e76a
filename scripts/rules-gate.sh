#!/bin/sh
# The rules gate of this repository, called by .ci/run with the built binary:
#   scripts/rules-gate.sh .build/debug/povrules
# 1. povrules check: rules load, type-check, parameters used, no gap between periods, classes
#    form a partition; and, against the base revision, a changed rule set has a new version
#    and a changelog entry.
# 2. povrules test: every YAML test case of every rule set (JUnit XML in $POVRULES_GATE_JUNIT).
# 3. povrules diff of the working rules against the base revision over the committed fixture
#    survey, within the committed expectation.
# Environment: POVRULES_GATE_BASE (default git:HEAD:Rules: on a clean clone the working rules are
# HEAD's, so the expectation is "nothing else"), POVRULES_GATE_EXPECT, POVRULES_GATE_JUNIT,
# POVRULES_GATE_REPORT (Markdown report file; default: printed).
set -eu
BIN=${1:?usage: scripts/rules-gate.sh PATH/TO/povrules}
case "$BIN" in /*) ;; *) BIN="$(pwd)/$BIN" ;; esac
cd "$(dirname "$0")/.."
BASE=${POVRULES_GATE_BASE:-git:HEAD:Rules}
EXPECT=${POVRULES_GATE_EXPECT:-Fixtures/thach-ha-2024/diff-expect.txt}
SURVEY=Fixtures/thach-ha-2024

echo "== povrules check Rules --against $BASE"
"$BIN" check Rules --against "$BASE"

echo "== povrules test Rules"
if [ -n "${POVRULES_GATE_JUNIT:-}" ]; then
    "$BIN" test Rules --junit "$POVRULES_GATE_JUNIT"
else
    "$BIN" test Rules
fi

echo "== povrules diff --base $BASE --head Rules $SURVEY --expect $EXPECT"
if [ -n "${POVRULES_GATE_REPORT:-}" ]; then
    "$BIN" diff --base "$BASE" --head Rules "$SURVEY" --expect "$EXPECT" --format markdown --sample 3 --output "$POVRULES_GATE_REPORT"
else
    "$BIN" diff --base "$BASE" --head Rules "$SURVEY" --expect "$EXPECT" --format text --sample 3
fi
echo "rules gate: ok"
