"""X3D video networks (Feichtenhofer 2020) from pytorchvideo, as the paper's video experiments use them.

Inputs are clips (N, 3, T, H, W). The head's global pooling has a fixed kernel set by the clip length
and crop size the network is built for, so both are part of the architecture name:

  x3d_xs              the X3D-XS teacher: 4 frames of 160 px, width factor 2.0, depth factor 2.2
                      (3.79M parameters with 400 classes; 3.18M with 101)
  x3d_xs_expanded     the paper's student: X3D-XS with depth factor 3.0 and width factor 5.0, no dropout
                      (18.07M parameters with 101 classes: the paper's 18.1M; its text says width 4, which
                      gives 12.2M; the official video/distill.py default is 5.0)
  x3d_w{W}_d{D}_s{S}[_t{T}]   any other width / depth factor at crop size S and T frames (default 4),
                      e.g. x3d_w1_d1_s32 for fast tests

Kinetics-400 weights (`pretrained=True`, x3d_xs only) come from pytorchvideo's model zoo
(dl.fbaipublicfiles.com, cached by torch.hub); offline, the error names the URL and the cache file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch.nn as nn

X3D_XS = {"width_factor": 2.0, "depth_factor": 2.2, "crop": 160, "frames": 4, "dropout": 0.5}
X3D_XS_EXPANDED = {"width_factor": 5.0, "depth_factor": 3.0, "crop": 160, "frames": 4, "dropout": 0.0}
FAMILY = re.compile(r"x3d_w(?P<width>\d+(?:\.\d+)?)_d(?P<depth>\d+(?:\.\d+)?)_s(?P<crop>\d+)(?:_t(?P<frames>\d+))?")
K400_URL = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_XS.pyth"


def x3d_config(name: str) -> dict:
    """width/depth factor, crop side, frames and dropout of an X3D architecture name."""
    if name == "x3d_xs":
        return dict(X3D_XS)
    if name == "x3d_xs_expanded":
        return dict(X3D_XS_EXPANDED)
    m = FAMILY.fullmatch(name)
    if m is None:
        raise ValueError(f"unknown X3D architecture {name!r}: expected x3d_xs, x3d_xs_expanded or x3d_w{{W}}_d{{D}}_s{{S}}[_t{{T}}]")
    return {"width_factor": float(m["width"]), "depth_factor": float(m["depth"]), "crop": int(m["crop"]),
            "frames": int(m["frames"] or 4), "dropout": 0.0}


def build_x3d(name: str, num_classes: int, in_chans: int = 3, pretrained: bool = False) -> nn.Module:
    from pytorchvideo.models.x3d import create_x3d

    cfg = x3d_config(name)
    if cfg["crop"] < 32 or cfg["crop"] % 32:
        raise ValueError(f"{name}: X3D's crop size must be a multiple of 32 (its total stride), got {cfg['crop']}")
    model = create_x3d(input_channel=in_chans, input_clip_length=cfg["frames"], input_crop_size=cfg["crop"],
                       model_num_class=num_classes, width_factor=cfg["width_factor"],
                       depth_factor=cfg["depth_factor"], dropout_rate=cfg["dropout"], head_activation=None)
    if pretrained:
        if name != "x3d_xs" or num_classes != 400 or in_chans != 3:
            raise ValueError(f"pretrained weights exist for x3d_xs with 400 classes and 3 channels only, not {name} "
                             f"with {num_classes} classes and {in_chans} channels")
        model.load_state_dict(kinetics400_state_dict())
    return model


def kinetics400_state_dict() -> dict:
    """pytorchvideo's Kinetics-400 X3D-XS weights (downloaded once into the torch hub cache)."""
    import torch

    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(K400_URL).name
    try:
        blob = torch.hub.load_state_dict_from_url(K400_URL, map_location="cpu", progress=False)
    except OSError as err:  # URLError, no network, DNS, HTTP errors
        from ..manifest import DataError

        reason = getattr(err, "reason", None) or err
        raise DataError(f"cannot download the Kinetics-400 X3D-XS weights {K400_URL} ({reason}); on an offline "
                        f"machine put X3D_XS.pyth at {cached} (TORCH_HOME={os.environ.get('TORCH_HOME', 'unset')}), "
                        "or give a teacher checkpoint") from None
    return blob["model_state"] if "model_state" in blob else blob
