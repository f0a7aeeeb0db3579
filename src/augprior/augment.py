"""Batched, on-device training-time augmentation. Random draws come from an explicit
torch.Generator on the CPU (so runs are reproducible whatever the device) and are then applied
to the whole batch at once: no per-sample Python."""

from __future__ import annotations

import numpy as np
import torch


def to_float(x_uint8: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    x = x_uint8.to(device, non_blocking=True).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.ndim == 4 else x


def _format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    mean = torch.as_tensor(mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    std = torch.as_tensor(std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - mean) / std


def random_hflip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def random_crop(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Zero-pad by `pad` and take a random crop of the original size, per sample."""
    b, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(x.device)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[bi, ci, rows, cols].contiguous(memory_format=_format(x))


def cutout(x: torch.Tensor, gen: torch.Generator, size: int) -> torch.Tensor:
    """Zero a size x size square (clipped at the border) centred at a random pixel, per sample."""
    if size <= 0:
        return x
    b, _, h, w = x.shape
    cy = torch.randint(0, h, (b,), generator=gen).to(x.device)
    cx = torch.randint(0, w, (b,), generator=gen).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_y = ((ys >= (cy[:, None] - size // 2)) & (ys < (cy[:, None] - size // 2 + size)))[:, :, None]
    in_x = ((xs >= (cx[:, None] - size // 2)) & (xs < (cx[:, None] - size // 2 + size)))[:, None, :]
    return x * (~(in_y & in_x))[:, None].to(x.dtype)


def cutmix_box(h: int, w: int, lam: float, gen: torch.Generator) -> tuple[int, int, int, int]:
    """Box covering about (1 - lam) of the image at a uniform random centre, clipped (Yun et al. 2019)."""
    cut = (1.0 - lam) ** 0.5
    ch, cw = int(h * cut), int(w * cut)
    cy = int(torch.randint(0, h, (1,), generator=gen))
    cx = int(torch.randint(0, w, (1,), generator=gen))
    return max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)


def beta_draw(gen: torch.Generator, a: float, b: float | None = None) -> float:
    """A Beta(a, b) draw driven by `gen` (torch's Beta sampler takes no generator)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(a, a if b is None else b))


def cutmix(x: torch.Tensor, gen: torch.Generator, beta: float) -> torch.Tensor:
    """One box per batch, lambda ~ Beta(beta, beta), partner = the batch reversed (official code)."""
    lam = beta_draw(gen, beta)
    y0, y1, x0, x1 = cutmix_box(x.shape[2], x.shape[3], lam, gen)
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x.flip(0)[:, :, y0:y1, x0:x1]
    return out
