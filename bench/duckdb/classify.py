#!/usr/bin/env python3
"""Runs bench/duckdb/classify.sql over a survey folder with DuckDB (all cores) and prints the
seconds it took as JSON.  Usage: classify.py SURVEY_DIR OUT_CSV [THREADS]"""
import json, os, sys, time
import duckdb

here = os.path.dirname(os.path.abspath(__file__))
survey, out = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
sql = open(os.path.join(here, "classify.sql")).read()
sql = (sql.replace("@HOUSEHOLDS@", os.path.join(survey, "households.csv"))
          .replace("@MEMBERS@", os.path.join(survey, "members.csv"))
          .replace("@OUT@", out))
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
t = time.perf_counter()
con.execute(sql)
print(json.dumps({"seconds": time.perf_counter() - t, "threads": threads, "duckdb": duckdb.__version__}))
