#!/usr/bin/env python3
"""National-scale benchmark of `povrules classify` (issue 9); run through bench/run.sh.

For each size (households) it generates a survey with survey-gen (cached in bench/work/), then
measures, each under /usr/bin/time -v (wall time, CPU time, peak resident memory):

  read      the reading pass alone: survey-bench (typed, validated, joined batches; no rules)
  classify  `povrules classify DIR -o OUT` end to end, with --threads 1 and with all cores;
            the two outputs must be byte-identical (cmp)
  duckdb    the same classification in DuckDB (bench/duckdb/classify.sql, all cores); its CSV
            must be byte-identical to povrules' (same columns, same order), and the class
            counts are compared too

and writes bench/results/<size>.json plus bench/results/summary.json (machine, all sizes,
cost per household at each size to show linearity).

Usage: bench/run.py BIN_DIR [SIZE ...]     (BIN_DIR holds povrules, survey-gen, survey-bench)
Environment: BENCH_REPS (default 1): runs per measurement, the fastest is kept.
"""
import collections, json, os, platform, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work")
RESULTS = os.path.join(ROOT, "bench", "results")
REPS = int(os.environ.get("BENCH_REPS", "1"))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns wall s, CPU s, peak RSS MB, stdout, stderr."""
    best = None
    for _ in range(REPS):
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, text=True, capture_output=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
        err = p.stderr

        def field(name):
            m = re.search(re.escape(name) + r":\s*([0-9.:]+)", err)
            return m.group(1) if m else "0"
        cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
        rss = int(field("Maximum resident set size (kbytes)")) / 1024
        r = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(rss, 1),
             "stdout": p.stdout, "stderr": err}
        if best is None or r["wall_s"] < best["wall_s"]:
            best = r
    return best


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    load = os.getloadavg()
    swift = sh(["swift", "--version"]).stdout.strip().splitlines()[0]
    import duckdb
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "swift": swift, "duckdb": duckdb.__version__,
            "load_average_at_start": [round(x, 2) for x in load]}


def survey(bin_dir, n):
    d = os.path.join(WORK, f"survey-{n}")
    stamp = os.path.join(d, ".generated")
    if not os.path.exists(stamp):
        os.makedirs(d, exist_ok=True)
        print(f"  generating {n} households in {d}", flush=True)
        sh([os.path.join(bin_dir, "survey-gen"), "--households", str(n), "--seed", "9", "--out", d])
        open(stamp, "w").write(str(n))
    return d


def class_counts(path):
    counts = collections.Counter()
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split(",")
        col = header.index("status")
        for line in f:
            counts[line.split(",")[col]] += 1  # generated villages hold no commas
    return dict(sorted(counts.items()))


def rates(n, mb, r):
    return {**{k: v for k, v in r.items() if k not in ("stdout", "stderr")},
            "households_per_s": round(n / r["wall_s"]), "mb_per_s": round(mb / r["wall_s"], 1),
            "households_per_cpu_s": round(n / r["cpu_s"]) if r["cpu_s"] else None}


def bench(bin_dir, n):
    d = survey(bin_dir, n)
    files = [os.path.join(d, "households.csv"), os.path.join(d, "members.csv")]
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    members = sum(1 for _ in open(files[1], "rb")) - 1
    out = {"households": n, "members": members, "input_mb": round(mb, 1)}
    print(f"size {n}: {mb:.0f} MB", flush=True)

    cores = os.cpu_count()
    for threads in sorted({1, cores}):
        key = "read" if threads == 1 else f"read_threads_{threads}"
        r = timed([os.path.join(bin_dir, "survey-bench"), "--dir", d, "--threads", str(threads)])
        out[key] = rates(n, mb, r)
        m = re.search(r"read:\s+([0-9.]+) s", r["stdout"])
        if m:
            out[key]["reader_loop_s"] = float(m.group(1))
        m = re.search(r"per core: ([0-9.]+) s CPU\s+([0-9.]+) MB/s", r["stdout"])
        if m:
            out[key]["mb_per_cpu_s"] = float(m.group(2))
        m = re.search(r"layout pass .*?: ([0-9.]+) s, ([0-9.]+) s CPU, ([0-9]+) parts", r["stdout"])
        if m:
            out[key]["layout_pass_s"], out[key]["layout_pass_cpu_s"], out[key]["parts"] = \
                float(m.group(1)), float(m.group(2)), int(m.group(3))
        x = out[key]
        print(f"  read -t{threads}:   {x['wall_s']:.2f} s  {x['households_per_s']:>9} h/s  "
              f"{x.get('mb_per_cpu_s')} MB/s per core  {x['peak_rss_mb']} MB", flush=True)

    outputs = {}
    for threads in sorted({1, cores}):
        path = os.path.join(WORK, f"classify-{n}-t{threads}.csv")
        r = timed([os.path.join(bin_dir, "povrules"), "classify", d, "--threads", str(threads), "-o", path])
        out[f"classify_threads_{threads}"] = rates(n, mb, r)
        outputs[threads] = path
        x = out[f"classify_threads_{threads}"]
        print(f"  classify -t{threads}: {x['wall_s']:.2f} s  {x['households_per_s']:>9} h/s  "
              f"{x['mb_per_s']} MB/s  {x['peak_rss_mb']} MB", flush=True)
    same = subprocess.run(["cmp", outputs[1], outputs[cores]], capture_output=True).returncode == 0
    out["identical_output_1_vs_all_threads"] = same

    duck_out = os.path.join(WORK, f"duckdb-{n}.csv")
    r = timed([sys.executable, os.path.join(ROOT, "bench", "duckdb", "classify.py"), d, duck_out, str(cores)])
    out["duckdb"] = rates(n, mb, r)
    out["duckdb"]["query_s"] = json.loads(r["stdout"].strip().splitlines()[-1])["seconds"]
    print(f"  duckdb:    {r['wall_s']:.2f} s  {out['duckdb']['households_per_s']:>9} h/s  "
          f"{out['duckdb']['peak_rss_mb']} MB", flush=True)
    ours, theirs = class_counts(outputs[cores]), class_counts(duck_out)
    out["class_counts"] = {"povrules": ours, "duckdb": theirs, "equal": ours == theirs}
    out["identical_output_povrules_vs_duckdb"] = \
        subprocess.run(["cmp", outputs[cores], duck_out], capture_output=True).returncode == 0
    best = out[f"classify_threads_{cores}"]["wall_s"]
    out["duckdb_over_povrules_wall"] = round(out["duckdb"]["wall_s"] / best, 2)
    for p in list(outputs.values()) + [duck_out]:
        os.remove(p)
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bin_dir = os.path.abspath(sys.argv[1])
    sizes = [int(s) for s in sys.argv[2:]] or [100_000, 1_000_000, 5_000_000]
    os.makedirs(RESULTS, exist_ok=True)
    info = machine()
    print(json.dumps(info), flush=True)
    runs = []
    for n in sizes:
        r = bench(bin_dir, n)
        r["machine"] = info
        r["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
        json.dump(r, open(os.path.join(RESULTS, f"{n}.json"), "w"), indent=2, ensure_ascii=False)
        runs.append(r)
    cores = os.cpu_count()
    key = f"classify_threads_{cores}"
    linear = [{"households": r["households"],
               "wall_us_per_household": round(r[key]["wall_s"] / r["households"] * 1e6, 3),
               "cpu_us_per_household": round(r[key]["cpu_s"] / r["households"] * 1e6, 3),
               "peak_rss_mb": r[key]["peak_rss_mb"]} for r in runs]
    summary = {"machine": info, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "linearity": linear,
               "sizes": [{k: v for k, v in r.items() if k != "machine"} for r in runs]}
    json.dump(summary, open(os.path.join(RESULTS, "summary.json"), "w"), indent=2, ensure_ascii=False)
    print(json.dumps(linear, indent=1))


main()
