"""The paper's tables and figures: one module each (table1.py, ..., fig4.py), registered in EXPERIMENTS.

A module declares its params.yaml block (a pydantic model), builds its cells from the resolved params
(`cells(ctx)`, see augprior.cells), names the paper CSV rows they reproduce by key (`paper_keys`: paper
table -> the columns that name a row) and lists the rows it does not reproduce, with a reason
(`not_reproduced`). Figures also carry their plot function. Adding a table is a module here plus its
params.yaml block (and its paper CSV under resources/paper/): the workflow's targets, dvc.yaml, CI and
the README's target list all follow this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydantic import BaseModel, ConfigDict

from ..cells import Cell, Context
from ..jobs import Job, closure
from ..registry import Registry
from ..tables import MEASURE


class Block(BaseModel):
    """Base of a table's params-block model: unknown keys are errors; every field has a default and a description."""
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    kind: str                                   # table | figure
    params: type[BaseModel]                     # its params.yaml block
    cells: Callable[[Context], list[Cell]]
    paper_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)   # paper CSV -> key columns
    not_reproduced: dict[str, dict[tuple[str, ...], str]] = field(default_factory=dict)  # CSV -> key -> why
    plot: Callable[..., Any] | None = None      # figures: plot(df, cells, out_png, title, mirror) -> df
    analysis: Callable[..., Any] | None = None  # analysis figures (augprior.analysis): analysis(cells, ctx, out)
    findings: tuple[Any, ...] = ()              # the paper's claims about it, checked in its md (augprior.findings)
    derive: Callable[..., Any] | None = None    # tables: derive(df, cells) -> df with columns computed from its rows
    measure: str = MEASURE                      # tables: what the reproduced column holds (said in the md)

    @property
    def category(self) -> str:
        """Its section of the Snakemake report: the paper's name for it ("Table 3", "Figures 5 and 14")."""
        return self.title.split(":", 1)[0]

    @property
    def target(self) -> str:
        """The file `snakemake <target>` builds (and dvc.yaml tracks)."""
        return f"paper_tables/{self.name}.{'png' if self.kind == 'figure' else 'csv'}"


def _make(name: str, cells: Callable[[Context], list[Cell]], meta: dict[str, Any]) -> Experiment:
    if meta.get("kind") not in ("table", "figure"):
        raise ValueError(f"{name}: kind must be 'table' or 'figure'")
    return Experiment(name=name, cells=cells, **meta)


EXPERIMENTS: Registry[Experiment] = Registry("table or figure", make=_make)


def context(params: dict[str, Any], name: str) -> Context:
    exp = EXPERIMENTS.get(name)
    block = exp.params.model_validate(params.get(name) or {}).model_dump()
    return Context(params, name, block)


def cells(name: str, params: dict[str, Any]) -> list[Cell]:
    """The cells of table or figure `name` for the resolved params."""
    return EXPERIMENTS.get(name).cells(context(params, name))


def plan(params: dict[str, Any]) -> dict[str, list[Cell]]:
    """The cells of every table and figure."""
    return {name: cells(name, params) for name in EXPERIMENTS}


def collect(cells_by_name: dict[str, list[Cell]], extra: Iterable[Job] = ()) -> dict[str, dict[str, Job]]:
    """kind -> id -> job: every job a cell needs, with their teachers, patch sets and synthetic sets."""
    return closure([j for cs in cells_by_name.values() for c in cs for j in c.jobs] + list(extra))


def _order(module: str) -> tuple[int, int, str]:
    m = re.search(r"\d+", module)
    return (0 if module.startswith("table") else 1, int(m[0]) if m else 0, module)


for _mod in sorted((m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")), key=_order):
    importlib.import_module(f"{__name__}.{_mod}")

TABLES = tuple(n for n in EXPERIMENTS if EXPERIMENTS.get(n).kind == "table")
FIGURES = tuple(n for n in EXPERIMENTS if EXPERIMENTS.get(n).kind == "figure")
ANALYSES = tuple(n for n in FIGURES if EXPERIMENTS.get(n).analysis)  # built by workflow/rules/analysis.smk
