"""Columns a table computes from its own rows (an experiment's `derive`), never copied from the paper."""

from __future__ import annotations

import pandas as pd

from ..cells import Cell


def gap_below(df: pd.DataFrame, cells: list[Cell], *, full: str, one: str, points: float) -> pd.DataFrame:
    """Table 4's "delta < 5%": per dataset and paper row (`cell.extra["paper_row"]`), the `full` row's top-1
    minus the `one` row's (`full_minus_one`, points) and whether it is below `points` (`gap_below_5pt` for 5,
    1/0; empty where a row has no number), on the `one` row, beside the paper's own mark (`paper_gap_below_5pt`)."""
    df, col = df.copy(), f"gap_below_{points:g}pt"
    df["paper_row"] = [c.extra.get("paper_row", "") for c in cells]
    gap, below, paper = ([None] * len(df) for _ in range(3))
    for (_, _), rows in df.groupby(["dataset", "paper_row"], sort=False):
        hit = {s: rows.index[rows.setting == s] for s in (full, one)}
        if len(hit[full]) != 1 or len(hit[one]) != 1:
            continue
        i, j = hit[one][0], hit[full][0]
        mark = cells[i].extra.get("paper_gap_below")
        paper[i] = None if mark is None else int(mark)
        a, b = df.at[j, "reproduced"], df.at[i, "reproduced"]
        if not (pd.isna(a) or pd.isna(b)):
            gap[i] = round(float(a) - float(b), 2)
            below[i] = int(gap[i] < points)
    df["full_minus_one"] = pd.Series(gap, index=df.index, dtype=object)
    df[col] = pd.Series(below, index=df.index, dtype=object)
    df[f"paper_{col}"] = pd.Series(paper, index=df.index, dtype=object)
    return df
