"""Cells of the compression tables (13, 14): a compress job (augprior.compress) per cell, or the reason it is empty."""

from __future__ import annotations

from .. import paper
from ..cells import Cell, Context
from ..jobs import compress_job
from ..paper import PaperRef
from ..sources import parse_source


def not_run(ctx: Context, row: str) -> str:
    return (f"{row} is not run at scale {ctx.scale} (params.yaml {ctx.name}.models maps it to null: "
            "the CI / laptop time budget)")


def compress_cell(ctx: Context, part: str, setting: str, dataset: str, arch: str | None, source: str, method: str,
                  *, sparsity: float | None = None, paper_ref: PaperRef | None = None, row: str = "") -> Cell:
    """A cell compressing the trained `arch` teacher on `dataset` by self-distillation on `source`."""
    p = ctx.params
    cell = Cell(ctx.name, part, setting, dataset, [], paper.lookup(paper_ref), arch or "", arch or "",
                p["compress"]["epochs"], paper_ref=paper_ref,
                extra={"method": method, **({"sparsity": sparsity} if sparsity is not None else {})})
    if arch is None:
        cell.reason = not_run(ctx, row or part)
        return cell
    cell.reason = next((r for d in (dataset, *parse_source(p, source).datasets) if (r := ctx.missing_data(d))), "")
    if not cell.reason:
        cell.jobs = [compress_job(p, dataset, source, method, ctx.seed, arch, sparsity)]
    return cell
