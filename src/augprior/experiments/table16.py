"""Table 16: ImageNet-C (Hendrycks & Dietterich 2019): clean error, mCE (normalised by AlexNet's errors) and
the corruption error of each of the 15 corruptions, for the ResNet-18 teacher and the one-image ResNet-50x2 and
ResNet-50 students of Table 7 (the same jobs). One imagenet_c job per model (augprior.imagenet_c) evaluates it
on the released benchmark's folders, or, for the folders that are absent and with generate_missing, on the
ImageNet val set corrupted here by augprior.corruptions (ImageNet-C's constants). Where the models are not planned
(no 224-px data at laptop / ci scale) every cell is empty with the reason. A CIFAR-scale analogue
(CIFAR-10 (JPEG)-C, computed here) is its own target, table16_cifar."""

from pydantic import Field, field_validator

from .. import corruptions, tables_224
from . import EXPERIMENTS, Block

CORRUPTIONS = tuple(corruptions.CORRUPTIONS)  # the benchmark's 15, in its column order


class Table16Params(Block):
    image: str = Field("city", description="source image of the one-image students")
    columns: list[str] = Field(["clean_error", "mce", *CORRUPTIONS], description="paper columns shown")
    root: str | None = Field(None, description="the released ImageNet-C: <root>/<corruption folder>/<severity>/<wnid>/"
                                               "*.JPEG (null: <mirror>/data/imagenet-c)")
    generate_missing: bool = Field(True, description="corrupt the ImageNet val images here (augprior.corruptions, "
                                                     "JPEG q85) for the folders absent under root; false: those "
                                                     "cells stay empty")
    corruptions: list[str] = Field(list(CORRUPTIONS), description="corruptions evaluated (mCE: their mean CE)")
    severities: list[int] = Field([1, 2, 3, 4, 5], description="severities evaluated (the benchmark's: 1-5)")
    batch_size: int = Field(250, ge=1, description="evaluation batch size")
    workers: int = Field(16, ge=1, description="JPEG decoding threads")
    max_images: int | None = Field(None, ge=1, description="a fixed class-spread sample of the val images (and of "
                                                           "each ImageNet-C folder); null: all 50,000")

    @field_validator("corruptions")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        if bad := [c for c in v if c not in CORRUPTIONS]:
            raise ValueError(f"unknown corruptions {bad} (known: {', '.join(CORRUPTIONS)})")
        return v

    @field_validator("severities")
    @classmethod
    def _levels(cls, v: list[int]) -> list[int]:
        if not v or any(s not in range(1, 6) for s in v) or len(set(v)) != len(v):
            raise ValueError(f"severities must be distinct values of 1..5, got {v}")
        return v


@EXPERIMENTS.register("table16", kind="table", params=Table16Params, paper_keys={"table16": ("network",)},
                      title="Table 16: ImageNet-C (clean error, mCE, corruption errors)")
def cells(ctx):
    return tables_224.table16_cells(ctx)
