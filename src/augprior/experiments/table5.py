"""Table 5: audio. The paper's audio CNN as teacher on the target, distilled (KD, T = 8, MixUp) on the full
training data or on 50K augmented 2-s crops of one clip (augprior.audio).

The paper's clips (A: an English BBC news clip, B: a clip about 11 Germanic languages, both from YouTube) are
not available: here clip A is English speech synthesised with espeak-ng and clip B speech in the 9 Germanic
languages espeak-ng has voices for (labelled stand-ins; augprior.audio.sources), plus a real music recording
(Debian asc-music) as an extra row. The paper's datasets (Speech Commands, MUSAN, Voxforge, LibriSpeech) are
not offline here: their cells need the extracted official archive (table5.roots, else <mirror>/data/<name>);
the Free Spoken Digit Dataset (in the mirror) is the target computed at every scale, a dataset the paper does
not use (its rows have no paper value).
"""

from typing import Optional

from pydantic import Field

from ..audio.cells import PAPER_DATASETS, table_cells
from . import EXPERIMENTS, Block


class Table5Params(Block):
    dataset: str = Field("fsdd", description="the target computed here (fsdd, or fsdd:/path/to/clone); not in the paper")
    paper_datasets: list[str] = Field(list(PAPER_DATASETS), description="the paper's targets (one part each)")
    roots: dict[str, Optional[str]] = Field(
        {name: None for name in PAPER_DATASETS},
        description="paper dataset -> its extracted official folder (null = <mirror>/data/<name>)")
    plan_missing: bool = Field(
        True, description="plan the paper datasets' jobs where their folder is not here yet (a cluster run; they fail "
                          "with one line naming the folder); false: those cells stay empty with the reason")
    clip_a: str = Field("speech_en", description="clip A (the paper: an English BBC news clip): speech_en, a file ...")
    clip_b: str = Field("speech_germanic", description="clip B (the paper: 11 Germanic languages)")
    extra_clips: dict[str, str] = Field({"1 clip: music (asc-music 'Frontiers', real recording; not in the paper)":
                                         "music:frontiers"}, description="row label -> further clip source")
    seeds: int = Field(1, ge=1, description="replicates per distillation cell")


@EXPERIMENTS.register("table5", kind="table", params=Table5Params, paper_keys={"table5": ("dataset",)},
                      title="Table 5: audio (teacher, full-data distillation, one clip A / B + augmentations)")
def cells(ctx):
    return table_cells(ctx)
