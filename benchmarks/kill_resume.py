"""Kill a ci-scale table run at random moments, resume it, and check that the finished table equals
an uninterrupted run's (issue: nothing lost after a kill).

    .venv/bin/python benchmarks/kill_resume.py [--table table3] [--kills 5] [--signal KILL|TERM]
        [--reference paper_tables/table3.csv] [--workdir ../kill-resume] [--seed 0]

It clones this checkout into --workdir (so the working tree here is not touched), runs
`snakemake --workflow-profile profiles/ci --config scale=ci paper_tables/<table>.csv` there, sends
the signal to the whole process group (snakemake and every job it started) at a random moment
between --min-wait and --max-wait seconds, unlocks, and starts it again, --kills times; the last
start runs to the end. Then it compares every row's `reproduced` value with --reference, the same
table from an uninterrupted run on this machine with the same threads (e.g. what .ci/run wrote). The killed
run computes everything itself in its own clone (nothing is reused from this checkout's results/).

Last line: `kill-resume <table>: <n> kills, <k>/<m> rows identical` and exit code 0 only if all are.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def start(workdir: Path, table: str, log) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/ci", "--config", "scale=ci",
           "--", f"paper_tables/{table}.csv"]
    return subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(workdir / "src")})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", default="table3")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--signal", choices=("KILL", "TERM", "INT"), default="KILL")
    p.add_argument("--min-wait", type=float, default=20.0)
    p.add_argument("--max-wait", type=float, default=120.0)
    p.add_argument("--reference", type=Path, help="the table's CSV from an uninterrupted run")
    p.add_argument("--workdir", type=Path, default=ROOT.parent / "kill-resume")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    sig = getattr(signal, f"SIG{args.signal}")

    if not args.workdir.exists():
        subprocess.run(["git", "clone", "-q", str(ROOT), str(args.workdir)], check=True)
    log_path = args.workdir / "kill-resume.log"
    kills = 0
    with open(log_path, "a") as log:
        for attempt in range(args.kills + 1):
            proc = start(args.workdir, args.table, log)
            if attempt < args.kills:
                wait = rng.uniform(args.min_wait, args.max_wait)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, sig)
                    proc.wait()
                    kills += 1
                    print(f"attempt {attempt + 1}: SIG{args.signal} after {wait:.0f} s", flush=True)
                    subprocess.run([sys.executable, "-m", "snakemake", "--unlock", "--config", "scale=ci"],
                                   cwd=args.workdir, stdout=log, stderr=subprocess.STDOUT, check=False)
                    continue
                print(f"attempt {attempt + 1}: finished before the kill (rc {proc.returncode})", flush=True)
                break
            t0 = time.time()
            proc.wait()
            print(f"last attempt: rc {proc.returncode} after {time.time() - t0:.0f} s", flush=True)
            if proc.returncode != 0:
                print(f"the resumed run failed; see {log_path}")
                return 1

    got = pd.read_csv(args.workdir / "paper_tables" / f"{args.table}.csv")
    if args.reference is None:
        print(got[["part", "setting", "reproduced"]].to_string(index=False))
        print(f"kill-resume {args.table}: {kills} kills, no reference given")
        return 0
    want = pd.read_csv(args.reference)
    key = ["part", "setting", "dataset"]
    merged = want[key + ["reproduced"]].merge(got[key + ["reproduced"]], on=key, how="outer",
                                              suffixes=("_reference", "_killed"), indicator=True)
    same = merged.apply(lambda r: (pd.isna(r.reproduced_reference) and pd.isna(r.reproduced_killed))
                        or r.reproduced_reference == r.reproduced_killed, axis=1)
    print(merged.drop(columns="_merge").to_string(index=False))
    print(f"kill-resume {args.table}: {kills} kills, {int(same.sum())}/{len(merged)} rows identical")
    return 0 if bool(same.all()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
