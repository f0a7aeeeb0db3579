"""The paper's published numbers: the project's own copy of shared/paper/table*.csv.

A cell names the paper row it reproduces by key (`ref("table4", "teacher_acc", dataset="cifar10",
teacher="VGG-19", student="VGG-16")`), never by position; `lookup` finds the value by that key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd


@dataclass(frozen=True)
class PaperRef:
    """Column `column` of the row of paper table `table` whose key columns hold `key` ((column, value) pairs)."""
    table: str
    column: str
    key: tuple[tuple[str, str], ...]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.key)

    @property
    def key_values(self) -> tuple[str, ...]:
        return tuple(_norm(v) for _, v in self.key)


def ref(table: str, column: str, **key: object) -> PaperRef:
    return PaperRef(table, column, tuple((c, str(v)) for c, v in key.items()))


@lru_cache(maxsize=None)
def table(name: str) -> pd.DataFrame:
    path = resources.files("augprior").joinpath(f"resources/paper/{name}.csv")
    with path.open() as f:
        return pd.read_csv(f)


def rows(name: str, **match: object) -> pd.DataFrame:
    """The rows of table `name` matching every key=value (case-insensitive)."""
    df = table(name)
    for key, want in match.items():
        df = df[df[key].astype(str).map(_norm) == _norm(want)]
    return df


def value(name: str, column: str, **match: object) -> float | None:
    """The paper's number in `column` of the one row of table `name` matching every key=value."""
    found = rows(name, **match)
    if len(found) != 1 or column not in found or pd.isna(found.iloc[0][column]):
        return None
    return float(found.iloc[0][column])


def text(name: str, column: str, **match: object) -> str | None:
    """A text column of the one matching row (e.g. a row's printed label)."""
    found = rows(name, **match)
    return str(found.iloc[0][column]) if len(found) == 1 else None


def lookup(r: PaperRef | None) -> float | None:
    return None if r is None else value(r.table, r.column, **dict(r.key))


def keys(name: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The key of every row of table `name` (normalised as in PaperRef.key_values)."""
    return [tuple(_norm(v) for v in row) for row in table(name)[list(columns)].astype(str).itertuples(index=False)]


def paper_column(dataset: str) -> str:
    """Which of the paper's dataset columns a result on `dataset` is compared with."""
    return "cifar100" if dataset == "cifar100" else "cifar10"


def _norm(value: object) -> str:
    return str(value).strip().lower()
