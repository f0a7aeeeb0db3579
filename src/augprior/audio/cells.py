"""Table 5's cells (experiments/table5.py): per target dataset, the supervised teacher, full-data distillation
and one-clip distillations (clip A, clip B, further clips); a dataset or clip that is not here leaves its cells
empty with the reason."""

from pathlib import Path

from .. import manifest, paper
from ..cells import Cell
from . import augment, data, sources
from .jobs import FULL_DATA, audio_distill_job, audio_teacher_job

PAPER_DATASETS = {"speech_commands": "Speech Commands", "musan": "MUSAN", "voxforge": "Voxforge",
                  "librispeech": "LibriSpeech"}
COLUMNS = {"full": "distill_full_data", "A": "distill_one_clip_A", "B": "distill_one_clip_B"}


def _root(ctx, name: str) -> Path | None:
    given = ctx.block["roots"].get(name)
    if given:
        return Path(given).expanduser()
    mirror = manifest.mirror_dir(ctx.params["data"]["mirror"])
    return None if mirror is None else mirror / "data" / name


def _dataset_reason(ctx, name: str) -> tuple[str, str]:
    """(the dataset's name for the jobs, why its cells are empty or '')."""
    if name == ctx.block["dataset"] and ":" not in name:
        return name, ctx.missing_data(name)
    if ":" in name:
        return name, "" if Path(name.split(":", 1)[1]).expanduser().is_dir() else f"{name}: no such folder"
    root = _root(ctx, name)
    spec = data.AUDIO[name]
    here = root is not None and root.is_dir()
    if here or (root is not None and ctx.block["plan_missing"] and ctx.params["data"]["download"]):
        return f"{name}:{root}", ""
    return name, (f"{spec.label} is not offline here ({root or 'no mirror set'}: no such folder; extract {spec.url} "
                  f"there or set table5.roots.{name}) at scale {ctx.scale}")


def _clip_reason(source: str) -> str:
    try:
        return sources.unavailable(source) or augment.missing_programs()
    except manifest.DataError as err:
        return str(err)


def cells_for(ctx, name: str, part: str, paper_label: str | None) -> list[Cell]:
    t, p = ctx.block, ctx.params
    a = p["audio"]
    dataset, reason = _dataset_reason(ctx, name)

    def ref(column: str):
        return paper.ref("table5", column, dataset=paper_label) if paper_label else None

    def cell(setting: str, column: str | None, jobs, teacher_only: bool = False, why: str = "") -> Cell:
        r = ref(column) if column else None
        c = Cell("table5", part, setting, dataset, [], paper.lookup(r), a["teacher"]["arch"],
                 "" if teacher_only else a["distill"]["student"],
                 a["teacher"]["epochs"] if teacher_only else a["distill"]["epochs"], paper_ref=r)
        c.reason = reason or why
        if not c.reason:
            c.jobs = jobs()
        return c

    seeds = [ctx.seed + r for r in range(t["seeds"])]
    rows = [cell("teacher (supervised)", "teacher", lambda: [audio_teacher_job(p, dataset)], teacher_only=True),
            cell("full training data", COLUMNS["full"],
                 lambda: [audio_distill_job(p, dataset, FULL_DATA + dataset, s) for s in seeds])]
    clips = [(f"1 clip A: {sources.parse_clip_source(t['clip_a']).description}", "A", t["clip_a"]),
             (f"1 clip B: {sources.parse_clip_source(t['clip_b']).description}", "B", t["clip_b"])]
    clips += [(label, None, src) for label, src in t["extra_clips"].items()]
    for setting, col, src in clips:
        rows.append(cell(setting, COLUMNS[col] if col else None,
                         lambda src=src: [audio_distill_job(p, dataset, src, s) for s in seeds], why=_clip_reason(src)))
    for c in rows:
        c.extra["clip_set"] = "50K random 2-s crops, one of 14 AugLy augmentations each (params audio.clips)"
    return rows


def table_cells(ctx) -> list[Cell]:
    t = ctx.block
    out = cells_for(ctx, t["dataset"], f"{data.label(t['dataset'])} (computed here; not in the paper)", None)
    for name in t["paper_datasets"]:
        if name not in PAPER_DATASETS:
            raise ValueError(f"table5.paper_datasets: unknown {name!r} (known: {', '.join(PAPER_DATASETS)})")
        out += cells_for(ctx, name, f"{PAPER_DATASETS[name]} ({data.AUDIO[name].num_classes} classes)",
                         PAPER_DATASETS[name])
    return out
