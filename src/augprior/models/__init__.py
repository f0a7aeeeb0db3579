"""Model factory: one name -> one nn.Module, for every architecture the paper uses."""

from __future__ import annotations

import re

import torch.nn as nn

from .wrn import WideResNet


def build_model(name: str, num_classes: int, in_chans: int = 3) -> nn.Module:
    """`wrn{depth}_{width}` (e.g. wrn40_4)."""
    if m := re.fullmatch(r"wrn(\d+)_(\d+)", name):
        return WideResNet(int(m[1]), int(m[2]), num_classes, in_chans)
    raise ValueError(f"unknown architecture {name!r}")


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
