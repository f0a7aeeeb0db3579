"""Figure 10: log-Mel spectrograms of augmented 1-s segments of the clip set of Table 5's clip A, one per
augmentation (augprior.audio.figure); it reads that clip set and trains nothing."""

from pydantic import Field

from ..audio import figure
from ..cells import Cell
from . import EXPERIMENTS, Block


class Fig10Params(Block):
    table: str = Field("table5", description="the table whose clip set is shown")
    setting_prefix: str = Field("1 clip A", description="that table's row (its setting starts with this) on its computed target")


@EXPERIMENTS.register("fig10", kind="figure", params=Fig10Params, analysis=figure.analysis, title=figure.TITLE)
def cells(ctx):
    from .. import experiments

    t = ctx.block
    found = [c for c in experiments.cells(t["table"], ctx.params) if c.setting.startswith(t["setting_prefix"])]
    if not found:
        return [Cell(ctx.name, "clip set", t["setting_prefix"], "", [], reason=f"{t['table']} has no row "
                     f"{t['setting_prefix']!r}")]
    src = found[0]
    clips = next((j for j in src.jobs[0].needs if j.kind == "audio_clips"), None) if src.jobs else None
    reason = src.reason or ("" if clips else f"{t['table']} {src.setting!r} has no clip set")
    return [Cell(ctx.name, "clip set", f"{t['table']}: {src.setting}", src.dataset, [clips] if clips else [],
                 reason=reason)]
