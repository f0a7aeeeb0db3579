"""The paper's findings in a table's md: holds / does not hold with the numbers, seed spreads, and
every row a registered table's findings name exists in its cells at every scale."""

import pandas as pd
import pytest

from augprior import config, experiments, findings, tables
from augprior.experiments import EXPERIMENTS


def _rows(values, std=None, n=1, teacher=80.0):
    return pd.DataFrame([{"part": "3a", "setting": s, "dataset": "CIFAR-10 (JPEG)", "reproduced": v,
                          "std": std, "n": n, "teacher_top1": teacher, "paper": p}
                         for s, (v, p) in values.items()])


def test_below_holds_fails_and_names_the_numbers():
    f = findings.below("noise far below", "noise", ["city", "animals"], part="3a", margin=10)
    holds, text = f.check(_rows({"noise": (20.0, 69.3), "city": (45.0, 93.1), "animals": (31.0, 93.3)}), "reproduced")
    assert holds and "city 45.00 - noise 20.00 = +25.00" in text and "spread unknown" in text
    holds, _ = f.check(_rows({"noise": (20.0, 69.3), "city": (45.0, 93.1), "animals": (29.0, 93.3)}), "reproduced")
    assert holds is False  # 9 points is not "far" (> 10)
    assert f.check(_rows({"noise": (20.0, 69.3), "city": (45.0, 93.1)}), "reproduced") == (None, "no number for animals")


def test_seed_spread_separates_real_differences_from_noise():
    f = findings.below("a below b", "a", ["b"])
    _, text = f.check(_rows({"a": (50.0, 1.0), "b": (51.0, 2.0)}, std=1.0, n=2), "reproduced")
    assert "within the seed spread (2.00)" in text
    _, text = f.check(_rows({"a": (50.0, 1.0), "b": (55.0, 2.0)}, std=1.0, n=2), "reproduced")
    assert "larger than the seed spread (2.00)" in text


def test_share_and_within():
    df = _rows({"one": (70.0, 94.1), "full": (76.0, 95.3)}, teacher=80.0)
    assert findings.share("85% of teacher", "one", 85).check(df, "reproduced") == (
        True, "one 70.00 is 87.5% of the teacher's 80.00")
    assert findings.within("within 5", "one", "full", 5).check(df, "reproduced")[0] is False
    assert findings.within("within 5", "one", "full", 5).check(df, "paper")[0] is True


def test_markdown_checks_reproduced_and_paper_numbers():
    df = _rows({"noise": (30.0, 69.3), "city": (25.0, 93.1)})
    md = tables.to_markdown(df.assign(table="t", scale="ci", delta=None, run_dirs="", notes=""), "T", "ci",
                            (findings.below("noise below city", "noise", ["city"]),))
    line = next(ln for ln in md.splitlines() if ln.startswith("- noise below city"))
    assert "**does not hold**" in line and line.endswith("In the paper: **holds**.")


@pytest.mark.parametrize("scale", ["paper", "laptop", "ci"])
def test_every_row_a_finding_names_is_a_cell(repo, scale):
    params = config.load(repo / "params.yaml", {"scale": scale})
    for name in EXPERIMENTS:
        exp = EXPERIMENTS.get(name)
        if not exp.findings:
            continue
        cells = experiments.cells(name, params)
        settings = {(c.part, c.setting) for c in cells}
        for f in exp.findings:
            for s in (*f.low, *f.high):
                assert any(st == s and (f.part is None or p == f.part) for p, st in settings), (name, f.claim, s)
