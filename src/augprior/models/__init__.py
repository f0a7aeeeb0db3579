"""Model factory: one name -> one nn.Module, for every architecture the paper uses.

Names (`build_model(name, num_classes, in_chans=3)`):

CIFAR-style (32-px input; any input of 28 px or more works):
  wrn{d}_{k}          pre-activation wide ResNet WRN-d-k, d = 6n+4 (wrn40_4, wrn16_2, ...)
  resnet{d}           CIFAR ResNet of He et al., d = 6n+2 (resnet20/32/44/56/110)
  resnet{d}_w{k}      the same with stage widths 16k/32k/64k (depth-vs-width sweep)
  cifar_resnet{d}     explicit CIFAR ResNet for depths that collide with torchvision (50, 152)
  vgg{11,13,16,19}_bn VGG with batch norm, CIFAR variant (conv stack + 512-512 classifier)

224-px (ImageNet-style):
  resnet18/34/50/101/152, wide_resnet50_2, wide_resnet101_2   torchvision
  vit_base_patch16_224, cait_s24_224                          timm
  tv:NAME             any torchvision classification model (torchvision.models.list_models())
  timm:NAME           any timm model (timm.list_models())

Video (clips (N, 3, T, H, W); pytorchvideo X3D, see augprior.models.x3d):
  x3d_xs, x3d_xs_expanded, x3d_w{W}_d{D}_s{S}[_t{T}]

Transformers at 32 px (Table 10's CIFAR analogue; augprior.models.vit_cifar):
  vit_cifar_d{D}_w{W}[_p{P}], cait_cifar_d{D}_w{W}[_p{P}]

Construction never downloads: weights are random unless `pretrained=True` (torchvision /
timm ImageNet weights; needs a connected machine or a pre-filled torch/HF cache) or
`checkpoint=PATH` (a local file, loaded with `load_checkpoint_into`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..registry import Registry, UnknownName
from .resnet_cifar import CifarResNet
from .vgg_cifar import CONFIGS as VGG_CONFIGS
from .vgg_cifar import CifarVGG
from .wrn import WideResNet

TORCHVISION_DEFAULTS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                        "wide_resnet50_2", "wide_resnet101_2")
TIMM_DEFAULTS = ("vit_base_patch16_224", "cait_s24_224")


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be read or does not fit the model; the message says why."""


class UnknownArchitecture(UnknownName, ValueError):
    """An architecture name no registered family matches."""


# name -> builder(num_classes, in_chans, pretrained, kwargs, **args); meta `source`: cifar | torchvision | timm
ARCHITECTURES: Registry = Registry("architecture", error=UnknownArchitecture)


def _no_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(f"{name!r} is a CIFAR-style model without published weights: "
                         "pass checkpoint=PATH instead of pretrained=True")


@ARCHITECTURES.register("wrn{d}_{k}", pattern=r"wrn(?P<depth>\d+)_(?P<widen>\d+)", source="cifar")
def _wrn(name, num_classes, in_chans, pretrained, kwargs, *, depth, widen):
    _no_weights(name, pretrained)
    return WideResNet(int(depth), int(widen), num_classes, in_chans, **kwargs)


@ARCHITECTURES.register("[cifar_]resnet{d}[_w{k}]", pattern=r"(?:cifar_)?resnet(?P<depth>\d+)(?:_w(?P<width>\d+))?",
                        source="cifar")
def _cifar_resnet(name, num_classes, in_chans, pretrained, kwargs, *, depth, width="1"):
    _no_weights(name, pretrained)
    return CifarResNet(int(depth), num_classes, in_chans, width=int(width), **kwargs)


@ARCHITECTURES.register("vgg{11,13,16,19}_bn", pattern=r"vgg(?P<depth>\d+)_bn", source="cifar")
def _cifar_vgg(name, num_classes, in_chans, pretrained, kwargs, *, depth):
    _no_weights(name, pretrained)
    if int(depth) not in VGG_CONFIGS:
        raise ValueError(f"unknown architecture {name!r}: VGG depth must be one of {sorted(VGG_CONFIGS)}")
    return CifarVGG(int(depth), num_classes, in_chans, **kwargs)


def _torchvision_builder(name, num_classes, in_chans, pretrained, kwargs, *, model=None):
    return _torchvision(model or name, num_classes, in_chans, pretrained, kwargs)


def _timm_builder(name, num_classes, in_chans, pretrained, kwargs, *, model=None):
    return _timm(model or name, num_classes, in_chans, pretrained, kwargs)


for _name in TORCHVISION_DEFAULTS:  # exact names win over the CIFAR resnet{d} family
    ARCHITECTURES.add(_name, _torchvision_builder, source="torchvision")
for _name in TIMM_DEFAULTS:
    ARCHITECTURES.add(_name, _timm_builder, source="timm")
ARCHITECTURES.add("tv:NAME", _torchvision_builder, pattern=r"tv:(?P<model>.+)", source="torchvision")
ARCHITECTURES.add("timm:NAME", _timm_builder, pattern=r"timm:(?P<model>.+)", source="timm")


def _x3d_builder(name, num_classes, in_chans, pretrained, kwargs, **_):
    from .x3d import build_x3d

    return build_x3d(name, num_classes, in_chans, pretrained, **kwargs)


for _name in ("x3d_xs", "x3d_xs_expanded"):  # video (augprior.models.x3d)
    ARCHITECTURES.add(_name, _x3d_builder, source="video")
ARCHITECTURES.add("x3d_w{W}_d{D}_s{S}[_t{T}]", _x3d_builder, source="video",
                  pattern=r"x3d_w\d+(?:\.\d+)?_d\d+(?:\.\d+)?_s\d+(?:_t\d+)?")


def model_source(name: str) -> str:
    """'cifar', 'torchvision' or 'timm': which family `build_model(name, ...)` builds."""
    return ARCHITECTURES.meta(name)["source"]


def default_input_size(name: str) -> int:
    """Side in pixels the architecture is meant for: 32 (CIFAR-style), 224, or an X3D's crop size."""
    source = model_source(name)
    if source == "video":
        from .x3d import x3d_config

        return x3d_config(name)["crop"]
    return 32 if source == "cifar" else 224


def build_model(name: str, num_classes: int, in_chans: int = 3, *, pretrained: bool = False,
                checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> nn.Module:
    """Build the architecture `name` with a `num_classes`-way head for `in_chans`-channel input.

    `kwargs` go to the constructor (e.g. `drop=0.3` for WRN, `img_size=64` for a timm ViT).
    `pretrained=True` loads torchvision/timm ImageNet weights (downloads on first use) and
    replaces the head when `num_classes` differs from 1000. `checkpoint` loads a local file
    strictly after construction.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if in_chans < 1:
        raise ValueError(f"in_chans must be >= 1, got {in_chans}")
    entry = ARCHITECTURES.entry(name)
    model = entry.obj(name, num_classes, in_chans, pretrained, kwargs, **entry.args)
    if checkpoint is not None:
        load_checkpoint_into(model, checkpoint)
    return model


def _torchvision(name: str, num_classes: int, in_chans: int, pretrained: bool, kwargs: dict) -> nn.Module:
    import torchvision

    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise ValueError(f"unknown torchvision classification model {name!r}; "
                         f"see torchvision.models.list_models() ({len(available)} names)")
    if pretrained:
        model = torchvision.models.get_model(name, weights="DEFAULT", **kwargs)
        if num_classes != 1000:
            _replace_head(model, name, num_classes)
    else:
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    if in_chans != 3:
        _adapt_first_conv(model, name, in_chans)
    return model


def _timm(name: str, num_classes: int, in_chans: int, pretrained: bool, kwargs: dict) -> nn.Module:
    import timm

    if not timm.list_models(name):
        raise ValueError(f"unknown timm model {name!r}; see timm.list_models()")
    return timm.create_model(name, pretrained=pretrained, num_classes=num_classes, in_chans=in_chans, **kwargs)


def _replace_head(model: nn.Module, name: str, num_classes: int) -> None:
    """Swap every 1000-way Linear (the head and auxiliary heads) for a fresh num_classes-way one."""
    replaced = 0
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and child.out_features == 1000:
                setattr(parent, child_name, nn.Linear(child.in_features, num_classes, bias=child.bias is not None))
                replaced += 1
    if not replaced:
        raise ValueError(f"torchvision model {name!r}: found no 1000-way Linear head to replace")


def _adapt_first_conv(model: nn.Module, name: str, in_chans: int) -> None:
    """Give the first 3-channel convolution `in_chans` inputs (pretrained weights summed/tiled)."""
    for parent in list(model.modules()):
        for child_name, conv in list(parent.named_children()):
            if isinstance(conv, nn.Conv2d) and conv.in_channels == 3:
                new = nn.Conv2d(in_chans, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                                conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode)
                with torch.no_grad():
                    w = conv.weight
                    if in_chans == 1:
                        new.weight.copy_(w.sum(1, keepdim=True))
                    else:
                        reps = -(-in_chans // 3)
                        new.weight.copy_(w.repeat(1, reps, 1, 1)[:, :in_chans] * (3 / in_chans))
                    if conv.bias is not None:
                        new.bias.copy_(conv.bias)
                setattr(parent, child_name, new)
                return
    raise ValueError(f"torchvision model {name!r}: found no 3-channel input convolution to adapt to in_chans={in_chans}")


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- checkpoints

_STATE_KEYS = ("model", "state_dict", "model_state", "model_state_dict", "net", "teacher", "weights", "params")
_PREFIXES = ("module.", "model.", "_orig_mod.", "teacher.", "net.", "backbone.", "encoder.")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensor dictionary inside a checkpoint file.

    Accepts .safetensors files and torch files holding a state dict directly or nested under
    one of the usual keys (model, state_dict, model_state_dict, net, teacher, ...: our own
    teacher checkpoints, PyTorch Lightning, timm and torchvision training scripts).
    Files are read with `weights_only=True`: pickled modules are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path), device="cpu"))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises several unpickling error types
        raise CheckpointError(
            f"checkpoint {path}: cannot be read as a weights-only torch file ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Save `model.state_dict()` with torch.save, "
            "or a .safetensors file.") from err
    for _ in range(3):
        if _is_state_dict(obj):
            return dict(obj)
        if isinstance(obj, Mapping):
            nested = next((obj[k] for k in _STATE_KEYS if isinstance(obj.get(k), Mapping)), None)
            if nested is not None:
                obj = nested
                continue
        break
    keys = list(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
    raise CheckpointError(f"checkpoint {path}: found no state dict (top-level keys: {keys}); "
                          f"expected tensors directly or under one of {', '.join(_STATE_KEYS)}")


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _match_prefixes(state: dict[str, torch.Tensor], target: set[str]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (DataParallel `module.`, Lightning `model.`, torch.compile `_orig_mod.`)."""
    best = state
    best_hits = len(target & set(state))
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if not any(k.startswith(prefix) for k in best):
                continue
            cand = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in best.items()}
            hits = len(target & set(cand))
            if hits > best_hits:
                best, best_hits, changed = cand, hits, True
    return best


def load_checkpoint_into(model: nn.Module, path: str | os.PathLike, *, strict: bool = True) -> nn.Module:
    """Load the weights in `path` into `model` (in place) and return it.

    Wrapper prefixes are stripped; BatchNorm `num_batches_tracked` counters may be missing.
    With `strict`, any other missing or unexpected key, and any shape mismatch (e.g. a
    1000-class head loaded into a 10-class model), raises CheckpointError naming the keys.
    """
    target = model.state_dict()
    state = _match_prefixes(read_state_dict(path), set(target))
    mismatched = [f"{k}: file {tuple(v.shape)} vs model {tuple(target[k].shape)}"
                  for k, v in state.items() if k in target and v.shape != target[k].shape]
    if mismatched:
        raise CheckpointError(f"checkpoint {path} does not fit the model ({len(mismatched)} shape mismatches: "
                              f"{'; '.join(mismatched[:5])}). Wrong architecture or number of classes?")
    missing = [k for k in target if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in target]
    if strict and (missing or unexpected):
        raise CheckpointError(
            f"checkpoint {path} does not fit the model: {len(missing)} missing keys {missing[:5]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:5]}. Wrong architecture?")
    model.load_state_dict({k: v for k, v in state.items() if k in target}, strict=False)
    return model


__all__ = ["ARCHITECTURES", "CheckpointError", "UnknownArchitecture", "CifarResNet", "CifarVGG", "WideResNet", "build_model", "default_input_size",
           "load_checkpoint_into", "model_source", "param_count", "read_state_dict"]


from ..audio import model as _audio_model  # noqa: E402,F401  (registers audio_cnn)

from . import efficientnet_lite as _efficientnet_lite  # noqa: E402,F401  (registers timm:efficientnet_lite0)
from . import vit_cifar as _vit_cifar  # noqa: E402,F401  (registers vit_cifar_d{D}_w{W}, cait_cifar_d{D}_w{W})
