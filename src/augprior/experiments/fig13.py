"""Figure 13: activation maximisation of five random neurons of every layer of the one-image student (Table 1's
run), beside the same for the supervised teacher and a randomly initialised network of the student's architecture."""

from pydantic import Field

from ..analysis import neuron_figures
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig13Params(AnalysisBlock):
    neurons: int = Field(5, ge=1, description="random channels per layer")
    side: int = Field(32, ge=8, description="side of the rendered images in pixels (the models' input size)")
    steps: int = Field(512, ge=1, description="Adam steps per image (Lucent's default: 512)")
    lr: float = Field(0.05, gt=0, description="Adam learning rate on the Fourier parameters (Lucent: 0.05)")


@EXPERIMENTS.register("fig13", kind="figure", params=Fig13Params, analysis=neuron_figures.layer_analysis,
                      title=neuron_figures.LAYER_TITLE)
def cells(ctx):
    return neuron_figures.cells(ctx)
