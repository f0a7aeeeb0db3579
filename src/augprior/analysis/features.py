"""Features of a model on images: logits, penultimate features and any layer's output, batched, with
bf16 autocast where the device has it and a progress bar.

One function for every analysis: `iter_features` streams per-batch results (for statistics accumulated
over minibatches, e.g. minibatch CKA, so the whole test set never has to sit in memory), `extract`
concatenates them. Layers are read with forward hooks, so any nn.Module works (no tracing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..augment import normalize, to_float
from ..runtime import autocast, progress

SKIP = (nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Dropout, nn.Linear, nn.Identity, nn.Flatten,
        nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
PENULTIMATE, LOGITS = "penultimate", "logits"


def default_layers(model: nn.Module) -> list[str]:
    """The representation layers of a model, input to output: its top-level convolution and every
    element of its nn.Sequential containers (residual blocks; VGG's convolutions), without the
    normalisation, activation, pooling and classifier modules."""
    names = []
    for name, module in model.named_modules():
        if not name or isinstance(module, (*SKIP, nn.Sequential)):
            continue
        parts = name.split(".")
        if len(parts) > 2:  # inside a block (e.g. a shortcut's nn.Sequential)
            continue
        parent = model.get_submodule(parts[0]) if len(parts) == 2 else model
        if (parent is model and isinstance(module, nn.Conv2d)) or isinstance(parent, nn.Sequential):
            names.append(name)
    return names


def _last_linear(model: nn.Module) -> nn.Module:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear head: no penultimate features")
    return linears[-1]


def _reduce(x: torch.Tensor, how: str, cpu: bool = True) -> torch.Tensor:
    """(B, ...) -> (B, D) float32 (on the CPU unless `cpu` is false): 'flatten' (Kornblith et al.;
    Nguyen et al.) or 'mean' (global average over the spatial dimensions)."""
    if how == "mean" and x.ndim > 2:
        x = x.float().mean(dim=tuple(range(2, x.ndim)))
    x = x.detach().float().flatten(1)
    return x.cpu() if cpu else x.clone()


def _batches(data, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    if isinstance(data, torch.Tensor):
        for i in range(0, len(data), batch_size):
            yield data[i:i + batch_size], None
    elif hasattr(data, "iter_batches"):  # a dataset (images, labels) or a patch store (images)
        for item in data.iter_batches(batch_size):
            yield item if isinstance(item, tuple) else (item, None)
    else:  # an indexable patch store (PatchShards) or a numpy array
        for i in range(0, len(data), batch_size):
            yield torch.as_tensor(data[i:i + batch_size]), None


def prepare(images: torch.Tensor, mean, std, device: torch.device, side: int | None = None,
            channels_last: bool = False) -> torch.Tensor:
    """uint8 (B, C, H, W) -> normalised float on `device`, resized (bicubic, antialiased) to `side`
    when given and different (patch sets cut at another size than the model's input)."""
    x = to_float(images, device, channels_last=channels_last)
    if side and x.shape[-1] != side:
        x = nn.functional.interpolate(x, size=(side, side), mode="bicubic", align_corners=False,
                                      antialias=True).clamp_(0, 1)
    return normalize(x, mean, std)


@torch.no_grad()
def iter_features(models: nn.Module | Sequence[nn.Module], data, mean, std, *, device: torch.device,
                  bf16: bool = False, layers: Sequence[str] | Sequence[Sequence[str]] = (),
                  reduce: str = "flatten", batch_size: int = 500, side: int | None = None,
                  desc: str = "features", cpu: bool = True,
                  ) -> Iterator[tuple[list[dict[str, torch.Tensor]], torch.Tensor | None]]:
    """Per batch of `data` (uint8 tensor, a dataset with iter_batches, or a patch store): for each model,
    {'logits', 'penultimate', <layer>: ...} as float32 CPU tensors (B, D), and the batch's labels (None
    for unlabelled data). Several models see the very same batch (paired statistics such as CKA)."""
    single = isinstance(models, nn.Module)
    models = [models] if single else list(models)
    if layers and isinstance(layers[0], str):
        layers = [list(layers)] * len(models)
    layers = list(layers) or [[] for _ in models]
    store: list[dict[str, torch.Tensor]] = [{} for _ in models]
    handles = []
    for i, (model, names) in enumerate(zip(models, layers)):
        model.eval()
        for name in names:
            handles.append(model.get_submodule(name).register_forward_hook(
                lambda _m, _inp, out, i=i, name=name: store[i].__setitem__(name, _reduce(out, reduce, cpu))))
        handles.append(_last_linear(model).register_forward_pre_hook(
            lambda _m, inp, i=i: store[i].__setitem__(PENULTIMATE, _reduce(inp[0], "flatten", cpu))))
    total = (len(data) + batch_size - 1) // batch_size if hasattr(data, "__len__") else None
    try:
        for images, labels in progress(_batches(data, batch_size), desc=desc, total=total, leave=False):
            x = prepare(images, mean, std, device, side)
            out = []
            for i, model in enumerate(models):
                store[i] = {}
                with autocast(device, bf16):
                    logits = model(x)
                logits = logits.float()
                out.append({LOGITS: logits.cpu() if cpu else logits, **store[i]})
            yield out, labels
    finally:
        for h in handles:
            h.remove()


@dataclass
class Features:
    logits: torch.Tensor                 # (N, classes)
    penultimate: torch.Tensor            # (N, D): the input of the classifier's last linear layer
    layers: dict[str, torch.Tensor] = field(default_factory=dict)
    labels: torch.Tensor | None = None   # (N,) for labelled data


def _cat(parts: Iterable[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    parts = list(parts)
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]} if parts else {}


def extract(model: nn.Module, data, mean, std, *, device: torch.device, bf16: bool = False,
            layers: Sequence[str] = (), reduce: str = "flatten", batch_size: int = 500, side: int | None = None,
            desc: str = "features") -> Features:
    """Logits, penultimate features and the outputs of `layers` of `model` on all of `data`."""
    rows, labels = [], []
    for (out,), y in iter_features(model, data, mean, std, device=device, bf16=bf16, layers=layers, reduce=reduce,
                                   batch_size=batch_size, side=side, desc=desc):
        rows.append(out)
        if y is not None:
            labels.append(y)
    cat = _cat(rows)
    return Features(cat.pop(LOGITS), cat.pop(PENULTIMATE), cat, torch.cat(labels) if labels else None)
