#!/usr/bin/env bash
# The DVC section of .ci/run (issue 17), run after the ci tables are built (results/ci, paper_tables/):
#   1. `dvc exp run -S scale=ci table@table3` reuses Snakemake's intermediates (no training job);
#   2. the table's metrics (`dvc metrics show`) and curves and figures (`dvc plots show`) render;
#   3. a second experiment (-S table3.images=...) and `dvc exp show` lists both with their cell values;
#   4. finished ci models published (python -m augprior.publish export) and pushed to a local-folder remote
#      from a scratch clone; a fresh clone pulls them, restores, and Snakemake's dry run and run of the
#      table target train nothing.
# Leaves params.yaml and paper_tables/ as it found them; writes nothing under results/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$PWD/.venv/bin:$PATH" DVC_NO_ANALYTICS=1 TQDM_DISABLE=1 GIT_AUTHOR_NAME=ci \
  GIT_AUTHOR_EMAIL=ci@localhost GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@localhost
work=$(mktemp -d /tmp/augprior-dvc.XXXXXX)
cp params.yaml "$work/params.yaml"
trap 'cp "$work/params.yaml" "$root/params.yaml"; rm -rf "$work"' EXIT
TRAINING="rule \(train_teacher\|distill\|zeroskd\|make_patches\|make_synthetic\):"
no_training() { if grep -q "$TRAINING" "$1"; then echo "FAIL: $2 ran training jobs:"; grep "$TRAINING" "$1"; exit 1; fi; }

echo "-- dvc exp run -S scale=ci reuses snakemake's intermediates and rebuilds only the table"
run() { local log=$1; shift; "$@" > "$log" 2>&1 || { tail -40 "$log"; echo "FAIL: $*"; exit 1; }; tail -3 "$log"; }
run "$work/exp1.log" dvc exp run -S scale=ci table@table3
no_training "$work/exp1.log" "dvc exp run"
python .ci/check_table.py paper_tables/table3.csv --scale ci

echo "-- dvc metrics show / dvc plots show"
dvc metrics show paper_tables/metrics/table3.json
dvc plots show -o "$work/plots" table3/train_loss table3/test_top1 paper_tables/fig2.png paper_tables/fig4.png
python - "$work/plots" <<'EOF'
import json, pathlib, sys
m = json.load(open("paper_tables/metrics/table3.json"))
assert m["scale"] == "ci" and len(m["cells"]) >= 10 and m["teacher"], m
curve = json.load(open("paper_tables/curves/table3.json"))
assert {r["run"] for r in curve} >= set(m["cells"]) and any("test_top1" in r for r in curve), "curves"
html = (pathlib.Path(sys.argv[1]) / "index.html").read_text()
assert "3a/animals" in html and ".png" in html, "dvc plots show did not render the curves and figures"
print(f"metrics: {len(m['cells'])} cells, teacher {m['teacher']}; {len(curve)} curve points rendered")
EOF

echo "-- a second experiment; dvc exp show lists both with their cells"
run "$work/exp2.log" dvc exp run -S scale=ci -S "table3.images=[noise, animals]" table@table3
no_training "$work/exp2.log" "the second dvc exp run"
dvc exp show --no-pager --md --drop '.*' --keep 'Experiment|cells.3a/.*' | head -8
dvc exp show --no-pager --csv > "$work/exps.csv"
python - "$work/exps.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["Experiment"]]
col = next(c for c in rows[0] if c.endswith("cells.3a/animals"))
universe = next(c for c in rows[0] if c.endswith("cells.3a/universe"))
last2 = rows[-2:]
assert len(rows) >= 2 and all(r[col] for r in last2), [(r["Experiment"], r[col]) for r in rows]
assert last2[0][universe] != last2[1][universe], "the experiments' cells should differ (3a/universe)"
print("dvc exp show:", [(r["Experiment"], r[col], r[universe] or "-") for r in last2])
EOF
cp "$work/params.yaml" params.yaml
dvc exp run -S scale=ci table@table3 >/dev/null 2>&1  # the full ci table back in paper_tables/

echo "-- publish the ci models to a local-folder remote; a fresh clone pulls them and retrains nothing"
git clone -q . "$work/a"
cp -al results/ci "$work/a/results/ci"  # hard links: export only reads them (it writes copies into models/)
(cd "$work/a" && python -m augprior.publish export --scale ci \
  && dvc remote add -d local "$work/remote" && git add models/ci.dvc models/.gitignore .dvc/config \
  && git commit -qm "publish ci models" && dvc push -q models/ci.dvc)
git clone -q "$work/a" "$work/b"
cd "$work/b"
dvc pull -q models/ci.dvc
python -m augprior.publish restore
run "$work/dry.log" snakemake -n --cores 2 --config scale=ci -- paper_tables/table3.csv
sed -n '/^Job stats/,/^total/p' "$work/dry.log"
no_training "$work/dry.log" "the fresh clone's dry run"
run "$work/run.log" snakemake --cores 2 --config scale=ci -- paper_tables/table3.csv
no_training "$work/run.log" "the fresh clone's run"
cmp paper_tables/metrics/table3.json "$root/paper_tables/metrics/table3.json"
echo "fresh clone: table3 rebuilt from pulled models, same metrics, no training job"
