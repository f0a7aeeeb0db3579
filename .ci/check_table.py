"""Assert a regenerated table is complete and plausible: every row a number in [0, 100], the teacher far
above chance, every run's metrics.json carrying provenance."""

import argparse
import json
from pathlib import Path

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("csv")
parser.add_argument("--scale", required=True)
parser.add_argument("--min-teacher", type=float, default=40.0, help="teacher top-1 floor (chance = 10)")
args = parser.parse_args()

df = pd.read_csv(args.csv)
assert len(df) > 0, "empty table"
assert (df.scale == args.scale).all(), f"rows not at scale {args.scale}: {set(df.scale)}"
bad = df[df.reproduced.isna() | (df.reproduced < 0) | (df.reproduced > 100)]
assert bad.empty, f"rows without a number in [0, 100]:\n{bad[['part', 'setting', 'reproduced', 'notes']]}"
teachers = set()
for run_dirs in df.run_dirs:
    for run in run_dirs.split(";"):
        metrics = json.loads((Path(run) / "metrics.json").read_text())
        prov = metrics["provenance"]
        for key in ("git", "params_hash", "scale", "seed", "versions", "device", "wall_time_s"):
            assert key in prov, f"{run}: provenance lacks {key}"
        teachers.add(Path(prov["params"]["teacher_path"]).parent)
for teacher in teachers:
    top1 = json.loads((teacher / "metrics.json").read_text())["top1"]
    assert top1 >= args.min_teacher, f"teacher {teacher} top-1 {top1:.1f}% is not far above chance"
    print(f"teacher {teacher}: top-1 {top1:.2f}%")
print(f"{args.csv}: {len(df)} rows, all in [0, 100], provenance complete")
