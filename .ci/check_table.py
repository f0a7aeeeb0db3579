"""Assert regenerated tables are complete and plausible: every computable row holds a number in [0, 100]
(rows that cannot be computed here must say why), the teachers are far above chance, and every run's
metrics.json carries provenance. `--all`: every table and figure of the registry (augprior.experiments),
figures' PNGs included."""

import argparse
import json
from pathlib import Path

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("csv", nargs="*")
parser.add_argument("--all", action="store_true", help="every registered table and figure")
parser.add_argument("--scale", required=True)
parser.add_argument("--min-teacher", type=float, default=40.0, help="teacher top-1 floor (chance = 10)")
args = parser.parse_args()
if args.all:
    from augprior.experiments import ANALYSES, EXPERIMENTS

    for name in EXPERIMENTS:
        target = Path(EXPERIMENTS.get(name).target)
        assert target.is_file() and target.stat().st_size > 0, f"missing {target}"
        if name in ANALYSES:  # analysis figures: their own CSV layout; the md must give a verdict
            csv, md = target.with_suffix(".csv"), target.with_suffix(".md")
            assert len(pd.read_csv(csv)) > 0, f"{csv}: empty"
            assert "Does the paper's claim hold here?" in md.read_text(), f"{md}: no verdict on the paper's claim"
            print(f"{target}: png, csv ({len(pd.read_csv(csv))} rows) and md with a verdict")
        else:
            args.csv.append(str(target.with_suffix(".csv")))
    # tables with no job at this scale (every cell empty with a reason when planned: e.g. no video data offline)
    from augprior import config, experiments

    params = config.load("params.yaml", {"scale": args.scale})
    nothing_planned = {EXPERIMENTS.get(n).target for n in EXPERIMENTS
                       if n not in ANALYSES and not any(c.jobs for c in experiments.cells(n, params))}
else:
    nothing_planned = set()
if not args.csv:
    parser.error("name the CSVs to check, or pass --all")

PROVENANCE = ("git", "params_hash", "scale", "seed", "versions", "device", "wall_time_s")
teachers = set()
for csv in args.csv:
    df = pd.read_csv(csv, keep_default_na=True)
    assert len(df) > 0, f"{csv}: empty table"
    computed = df[~df.notes.astype("string").fillna("").str.contains("not computed: ")]
    if csv in nothing_planned:  # the plan has no job for it here: every row must say why, none may hold a number
        assert computed.empty, f"{csv}: rows with a number although no job was planned:\n{computed}"
        print(f"{csv}: no job at scale {args.scale}; all {len(df)} rows empty with a reason")
        continue
    assert len(computed) > 0, f"{csv}: no row was computed"
    assert (computed.scale == args.scale).all(), f"{csv}: rows not at scale {args.scale}"
    bad = computed[computed.reproduced.isna() | (computed.reproduced < 0) | (computed.reproduced > 100)]
    assert bad.empty, f"{csv}: rows without a number in [0, 100]:\n{bad[['part', 'setting', 'reproduced', 'notes']]}"
    if "n_test" in df.columns and computed.n_test.isna().any():  # engines whose metrics.json has no "n"
        print(f"{csv}: {int(computed.n_test.isna().sum())} computed rows do not say how many test images they had")
    for run_dirs in computed.run_dirs:
        for run in run_dirs.split(";"):
            metrics = json.loads((Path(run) / "metrics.json").read_text())
            prov = metrics["provenance"]
            missing = [k for k in PROVENANCE if k not in prov]
            assert not missing, f"{run}: provenance lacks {missing}"
            if "teacher_path" in prov["params"]:
                teachers.add(Path(prov["params"]["teacher_path"]).parent)
    print(f"{csv}: {len(computed)}/{len(df)} rows computed, all in [0, 100], provenance complete; "
          f"{len(df) - len(computed)} rows empty with a reason")
for teacher in sorted(teachers):
    metrics = json.loads((teacher / "metrics.json").read_text())
    top1 = metrics["top1"]
    if top1 is None:  # exported on an unlabelled evaluation set (the photos of table7_photos)
        assert metrics.get("labelled") is False, f"teacher {teacher}: no top-1 on a labelled test set"
        print(f"teacher {teacher}: exported on unlabelled {metrics['dataset']} ({metrics['n']} images)")
        continue
    assert top1 >= args.min_teacher, f"teacher {teacher} top-1 {top1:.1f}% is not far above chance"
    print(f"teacher {teacher}: top-1 {top1:.2f}%")
