"""Figures 6 and 12: activation maximisation of the final-layer class neurons of the supervised teacher, the
one-image student (Table 1's runs) and a randomly initialised network of the student's architecture; all 10
CIFAR-10 classes, and ImageNet's 'giant panda' for an ImageNet EfficientNet-Lite0 teacher at 224 px."""

from pydantic import Field

from ..analysis import neuron_figures
from . import EXPERIMENTS
from ._analysis import AnalysisBlock


class Fig6Params(AnalysisBlock):
    classes: int = Field(10, ge=1, description="class neurons rendered (the first N classes)")
    side: int = Field(32, ge=8, description="side of the rendered CIFAR images in pixels (the models' input size)")
    steps: int = Field(512, ge=1, description="Adam steps per image (Lucent's default: 512)")
    lr: float = Field(0.05, gt=0, description="Adam learning rate on the Fourier parameters (Lucent: 0.05)")
    imagenet: bool = Field(True, description="also render ImageNet class 388 (panda) of the EfficientNet-Lite0 ImageNet teacher")
    imagenet_steps: int = Field(512, ge=1, description="Adam steps of the 224-px ImageNet image")


@EXPERIMENTS.register("fig6", kind="figure", params=Fig6Params, analysis=neuron_figures.class_analysis,
                      title=neuron_figures.CLASS_TITLE)
def cells(ctx):
    return neuron_figures.cells(ctx)
