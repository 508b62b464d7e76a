#!/usr/bin/env bash
# compare.sh BASE_BIN NEW_BIN [quick]: runs the same commands with two povrules builds (from the
# repository root) and compares stdout, stderr and exit status of each; ends with fail=0 when
# every one is identical. Used to show a speed change leaves every output byte as it was.
#
#   swift build -c release --product povrules && cp .build/release/povrules /tmp/povrules-base
#   ... change ..., build again, then
#   bench/compare.sh /tmp/povrules-base .build/release/povrules
#
# Covers the Thạch Hạ fixture (every command and format, three dates), all invalid surveys, and
# damaged copies of generated surveys in both join modes (bench/messy.py); without `quick`,
# also 200,000 households at 1/2/3 threads and diff. Surveys are generated into
# ${BENCH_WORK:-bench/work} on first use with survey-gen (SURVEY_GEN, by default next to NEW_BIN).
set -u
B=$1; N=$2; Q=${3:-}
W=${BENCH_WORK:-bench/work}
GEN=${SURVEY_GEN:-$(dirname "$N")/survey-gen}
survey() { # name households
    [ -f "$W/$1/members.csv" ] && return
    mkdir -p "$W/$1"
    "$GEN" --households "$2" --seed 9 --out "$W/$1" > /dev/null || exit 2
}
messy() { # name source seed skip
    [ -f "$W/$1/members.csv" ] && return
    python3 bench/messy.py "$W/$2" "$W/$1" "$3" ${4:-} || exit 2
}
survey eval-20k 20000
messy messy-20k eval-20k 1
messy messy-stream-20k eval-20k 1 stray,newline
if [ "$Q" != quick ]; then
    survey eval-200k 200000
    messy messy-stream-200k eval-200k 2 stray,newline
fi
fail=0; t=$(mktemp -d)
run() { # name args...
    local name=$1; shift
    "$B" "$@" > $t/b.out 2> $t/b.err; eb=$?
    "$N" "$@" > $t/n.out 2> $t/n.err; en=$?
    if cmp -s $t/b.out $t/n.out && cmp -s $t/b.err $t/n.err && [ $eb = $en ]; then echo "ok   $name ($eb)"; else echo "DIFF $name ($eb/$en)"; fail=1; fi
}
runo() { # name args...: classify with -o FILE (a survey is then read assuming it sorted, and again when it is not)
    local name=$1; shift
    "$B" "$@" -o $t/b.csv > $t/b.out 2> $t/b.err; eb=$?
    "$N" "$@" -o $t/n.csv > $t/n.out 2> $t/n.err; en=$?
    if cmp -s $t/b.csv $t/n.csv && cmp -s $t/b.out $t/n.out && cmp -s $t/b.err $t/n.err && [ $eb = $en ]; then echo "ok   $name ($eb)"; else echo "DIFF $name ($eb/$en)"; fail=1; fi
}
F=Fixtures/thach-ha-2024
run th classify $F
run th27 classify $F --as-of 2027-06-01
run th20 classify $F --as-of 2020-06-01
run thj classify $F --format jsonl
run thj20 classify $F --format jsonl --as-of 2020-06-01
for th in 1 2 3; do runo "th -o t$th" classify $F --threads $th; done
runo "thj -o" classify $F --format jsonl --threads 2
run threp report $F
run threpv report $F --by village
run thtgt targets $F --plan Rules/plans/thach-ha-2024.yaml
run thel eligibility $F
run thelc eligibility $F --check $F/beneficiaries.csv
run thex explain $F TH0078
run thexen explain $F TH0078 --lang en
run thval validate $F
for s in messy-20k messy-stream-20k; do
    for th in 1 2; do run "$s c t$th" classify $W/$s --threads $th; runo "$s c -o t$th" classify $W/$s --threads $th; done
    run "$s j" classify $W/$s --format jsonl
    run "$s v" validate $W/$s
    run "$s rep" report $W/$s
    run "$s tgt" targets $W/$s --plan Rules/plans/thach-ha-2024.yaml
    run "$s el" eligibility $W/$s
done
for d in Fixtures/surveys-invalid/*; do
    run "inv-c $d" classify $d; run "inv-v $d" validate $d; run "inv-r $d" report $d
    for th in 1 2; do runo "inv-c -o t$th $d" classify $d --threads $th; done
done
if [ "$Q" != quick ]; then
    for th in 1 2 3; do run "c200k t$th" classify $W/eval-200k --threads $th; runo "c200k -o t$th" classify $W/eval-200k --threads $th; done
    for th in 1 2; do run "messy200k t$th" classify $W/messy-stream-200k --threads $th; runo "messy200k -o t$th" classify $W/messy-stream-200k --threads $th; done
    run "messy200k v" validate $W/messy-stream-200k
    run "rep200k" report $W/eval-200k
    run "diff" diff --base Rules --head Rules $F
fi
rm -rf $t
echo fail=$fail
[ $fail = 0 ]
