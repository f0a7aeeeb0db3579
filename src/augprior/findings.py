"""The paper's claims about a table, declared once in its module and checked on every build.

A finding compares rows of the built table (rows named by `setting`, optionally within a `part`), once per
dataset column, on the reproduced values and on the paper's own values, and writes one line per dataset to
the table's md: holds / does not hold, with the numbers. Where rows have several seeds, each compared
difference is called larger than the seed spread when it exceeds the sum of the two rows' standard deviations.

    FINDINGS = (below("noise far below every real image", "noise", ["universe", "city"], part="3a", margin=10),
                share("one image reaches 85% of its teacher", "1 image ...", 85))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Value:
    setting: str
    mean: float
    std: float | None
    n: int

    def __str__(self) -> str:
        spread = f" ± {self.std:.2f}" if self.n > 1 and self.std is not None else ""
        return f"{self.setting} {self.mean:.2f}{spread}"


def _spread(a: Value, b: Value) -> str:
    if a.n < 2 or b.n < 2 or a.std is None or b.std is None:
        return "one seed: spread unknown"
    s = a.std + b.std
    return (f"larger than the seed spread ({s:.2f})" if abs(a.mean - b.mean) > s
            else f"within the seed spread ({s:.2f})")


@dataclass(frozen=True)
class Finding:
    """`kind` is below (every `low` row under every `high` row by more than `margin` points), share (the `low`
    row reaches `margin` % of its teacher's top-1) or within (the `low` row at most `margin` points under `high`)."""
    claim: str
    kind: str
    low: tuple[str, ...]
    high: tuple[str, ...] = ()
    part: str | None = None
    margin: float = 0.0

    def check(self, rows: pd.DataFrame, column: str) -> tuple[bool | None, str]:
        """(holds, evidence) on one dataset's rows, using `column` (reproduced or paper); holds is None
        when a row has no number."""
        def get(setting: str) -> Value | None:
            hit = rows[(rows.setting == setting) & ((rows.part == self.part) if self.part else True)]
            if hit.empty or pd.isna(hit.iloc[0][column]):
                return None
            r = hit.iloc[0]
            seeded = column == "reproduced" and "n" in r
            return Value(setting, float(r[column]), _num(r.get("std")) if seeded else None,
                         int(r["n"]) if seeded and not pd.isna(r["n"]) else 1)

        values = {s: get(s) for s in (*self.low, *self.high)}
        missing = [s for s, v in values.items() if v is None]
        if missing:
            return None, f"no number for {', '.join(missing)}"
        if self.kind == "share":
            v = values[self.low[0]]
            hit = rows[rows.setting == v.setting]
            teacher = _num(hit.iloc[0].get("teacher_top1")) if column == "reproduced" else None
            if teacher is None:
                return None, "no teacher top-1"
            pct = 100 * v.mean / teacher
            return pct >= self.margin, f"{v} is {pct:.1f}% of the teacher's {teacher:.2f}"
        pairs = [(values[lo], values[hi]) for lo in self.low for hi in self.high]
        if self.kind == "within":
            lo, hi = pairs[0]
            gap = hi.mean - lo.mean
            return gap <= self.margin, f"{hi} - {lo} = {gap:+.2f} points ({_spread(lo, hi)})"
        holds = all(hi.mean - lo.mean > self.margin for lo, hi in pairs)
        spreads = [_spread(lo, hi) for lo, hi in pairs]
        seeded = column == "reproduced" and not all(s.startswith("one seed") for s in spreads)
        text = "; ".join(f"{hi} - {lo} = {hi.mean - lo.mean:+.2f}" + (f" ({s})" if seeded else "")
                         for (lo, hi), s in zip(pairs, spreads))
        return holds, text + ("" if seeded or column != "reproduced" else " (one seed per row: spread unknown)")


def _num(x: Any) -> float | None:
    try:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
    except (TypeError, ValueError):
        return None


def below(claim: str, low: str | list[str], high: list[str], *, part: str | None = None, margin: float = 0.0) -> Finding:
    return Finding(claim, "below", tuple([low] if isinstance(low, str) else low), tuple(high), part, margin)


def share(claim: str, row: str, percent: float, *, part: str | None = None) -> Finding:
    return Finding(claim, "share", (row,), (), part, percent)


def within(claim: str, row: str, ref: str, points: float, *, part: str | None = None) -> Finding:
    return Finding(claim, "within", (row,), (ref,), part, points)


def markdown(df: pd.DataFrame, findings: tuple[Finding, ...]) -> list[str]:
    """The md section: one line per finding and dataset, for the reproduced and the paper's numbers."""
    if not findings or df.empty:
        return []
    lines = ["", "## The paper's findings, checked on these numbers", ""]
    word = {True: "**holds**", False: "**does not hold**", None: "not checked"}
    for f in findings:
        for dataset, rows in df.groupby("dataset", sort=False):
            here, evidence = f.check(rows, "reproduced")
            line = f"- {f.claim} ({dataset}): {word[here]}: {evidence}"
            if f.kind != "share" and "paper" in rows:
                there, _ = f.check(rows, "paper")
                line += f". In the paper: {word[there]}"
            lines.append(line + ".")
    return lines

