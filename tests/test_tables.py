import math

import pandas as pd

from augprior import config, io, tables
from augprior.experiments import Plan


def _cells(repo, seeds=1):
    plan = Plan(config.load(repo / "params.yaml", {"scale": "ci", "table3.seeds": seeds}))
    return plan.table3()


def test_rows_have_paper_values_and_missing_cells_stay_empty(repo, tmp_path):
    cells = _cells(repo)
    df = tables.build_rows(cells, tmp_path)
    assert list(df.columns) == tables.COLUMNS
    assert len(df) == 13
    paper = dict(zip(df.setting[df.part == "3a"], df.paper[df.part == "3a"]))
    assert paper == {"noise": 69.30, "universe": 88.18, "bridge": 92.24, "city": 93.13, "animals": 93.28}
    assert df.reproduced.isna().all()
    assert df.notes.str.contains("missing").all()
    assert set(df.dataset) == {"CIFAR-10 (JPEG)"}


def test_replicates_give_mean_and_std(repo, tmp_path):
    cells = _cells(repo, seeds=2)
    first = cells[0]
    for job, acc in zip(first.jobs, (50.0, 54.0)):
        io.write_json(tmp_path / f"results/ci/distill/{job.id}/metrics.json", {"top1": acc})
    df = tables.build_rows(cells, tmp_path)
    row = df.iloc[0]
    assert (row.reproduced, row.n) == (52.0, 2)
    assert math.isclose(row["std"], 2.828, abs_tol=0.01)
    assert math.isclose(row.delta, 52.0 - 69.30, abs_tol=1e-6)
    md = tables.to_markdown(df, "T", None)
    assert "52.00 ± 2.83 (n=2)" in md


def test_paper_tables_are_the_shared_copies(repo):
    assert len(tables.paper_table("table3c")) == 5
    df = pd.read_csv(repo / "src/augprior/resources/paper/table3b.csv")
    assert list(df.teacher_signal) == ["full", "top5", "argmax"]
