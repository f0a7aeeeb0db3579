"""Batched, on-device training-time augmentation.

Random draws come from an explicit torch.Generator on the CPU (so runs are reproducible
whatever the device, and a resumed run redraws exactly what an uninterrupted one drew) and
are then applied to the whole batch at once: no per-sample Python. Images are float tensors
(N, C, H, W) in [0, 1] ("pixel space") until `normalize`.

The distillation pipeline (`augment_batch`, options in augprior.options.AugmentOptions) applies, in order:
  1. random resized crop   (ImageNet set; scale 0.08-1, ratio 3/4-4/3, bicubic)
  2. horizontal flip       (p = 0.5 per image)
  3. zero-pad + random crop (pad 4 at 32 px, the CIFAR recipe)
  4. color jitter          (ImageNet set; (0.4, 0.4, 0.4, 0.4) with p = 0.8 per image)
  5. grayscale             (ImageNet set; p = 0.2 per image)
  6. solarize              (ImageNet set; p = 0.2 per image, threshold 128/255 as PIL's default)
  7. normalize             (per-channel mean/std of the teacher's dataset)
  8. MixUp                 (one lambda per batch, partner = the batch reversed)
  9. CutMix                (one box per batch, partner = the batch reversed)
Steps 8 and 9 return their mixing coefficients so that cached targets can be mixed alike.
The official ImageNet code flips after solarize; flipping commutes with the colour operations,
so the order only changes which random numbers go where, not the distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import options

# Distillation augmentation options: declared (paper CIFAR defaults, bounds, descriptions) in
# augprior.options.AugmentOptions; `IMAGENET_AUGMENT` holds the official ImageNet-scale settings.
AUGMENT_DEFAULTS: dict[str, Any] = options.defaults(options.AugmentOptions)
IMAGENET_AUGMENT: dict[str, Any] = {
    **AUGMENT_DEFAULTS,
    "random_crop": False, "cutmix_beta": 1.0, "random_resized_crop": True, "rrc_size": 224,
    "color_jitter_p": 0.8, "grayscale_p": 0.2, "solarize_p": 0.2,
}
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, as PIL and torchvision


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


def _uniform(n: int, gen: torch.Generator, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, dtype=torch.float64).float()


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


# ----------------------------------------------------------------------------- MixUp / CutMix

def beta_draw(gen: torch.Generator, a: float, b: float | None = None) -> float:
    """A Beta(a, b) draw driven by `gen` (torch's Beta sampler takes no generator)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(a, a if b is None else b))


def cutmix_box(h: int, w: int, lam: float, gen: torch.Generator) -> tuple[int, int, int, int]:
    """Box covering about (1 - lam) of the image at a uniform random centre, clipped (Yun et al. 2019).

    Side int(h * sqrt(1 - lam)), centre uniform over the image, box [c - side//2, c + side//2)
    clipped to the image, as the official code (TF and PyTorch). Returns (y0, y1, x0, x1).
    """
    cut = (1.0 - lam) ** 0.5
    ch, cw = int(h * cut), int(w * cut)
    cy = int(torch.randint(0, h, (1,), generator=gen))
    cx = int(torch.randint(0, w, (1,), generator=gen))
    return max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)


def cutmix_lam(x: torch.Tensor, gen: torch.Generator, beta: float) -> tuple[torch.Tensor, float]:
    """CutMix with one box per batch: lambda ~ Beta(beta, beta), partner = the batch reversed.

    Returns (mixed batch, fraction of each image's own pixels that were kept).
    """
    lam = beta_draw(gen, beta)
    h, w = x.shape[2], x.shape[3]
    y0, y1, x0, x1 = cutmix_box(h, w, lam, gen)
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x.flip(0)[:, :, y0:y1, x0:x1]
    return out, 1.0 - (y1 - y0) * (x1 - x0) / (h * w)


def cutmix(x: torch.Tensor, gen: torch.Generator, beta: float) -> torch.Tensor:
    """One box per batch, lambda ~ Beta(beta, beta), partner = the batch reversed (official code)."""
    return cutmix_lam(x, gen, beta)[0]


def mixup(x: torch.Tensor, gen: torch.Generator, alpha: float = 1.0) -> tuple[torch.Tensor, float]:
    """MixUp of the batch with itself reversed: lam x + (1 - lam) x.flip(0), lam ~ Beta(alpha, alpha).

    One lambda per batch. The official CIFAR code draws lam ~ U(0, 1) = Beta(1, 1), hence the
    default alpha = 1. Returns (mixed batch, lam).
    """
    lam = beta_draw(gen, alpha)
    return lam * x + (1.0 - lam) * x.flip(0), lam


# ----------------------------------------------------------------------------- random resized crop

def rrc_params(b: int, h: int, w: int, gen: torch.Generator, scale=(0.08, 1.0), ratio=(0.75, 4.0 / 3.0),
               attempts: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """torchvision's RandomResizedCrop.get_params, vectorised over `b` images of h x w.

    Per image: up to `attempts` candidates (area fraction ~ U(scale), log aspect ~ U(log ratio),
    side lengths rounded); the first that fits is taken at a uniform offset; if none fits, the
    central crop with the aspect ratio clamped to `ratio`. Returns int64 (top, left, height, width).
    """
    area = h * w
    target = area * _uniform(b * attempts, gen, scale[0], scale[1]).view(b, attempts).double()
    log_r = _uniform(b * attempts, gen, math.log(ratio[0]), math.log(ratio[1])).view(b, attempts).double()
    aspect = torch.exp(log_r)
    cw = torch.round(torch.sqrt(target * aspect)).long()
    chh = torch.round(torch.sqrt(target / aspect)).long()
    ok = (cw > 0) & (cw <= w) & (chh > 0) & (chh <= h)
    first = ok.double().argmax(1)  # first fitting attempt (0 when none fits; masked below)
    any_ok = ok.any(1)
    pick = lambda t: t.gather(1, first[:, None])[:, 0]  # noqa: E731
    cw, chh = pick(cw), pick(chh)
    # fallback: whole image, aspect clamped to the ratio range
    in_ratio = w / h
    if in_ratio < min(ratio):
        fw, fh = w, int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        fw, fh = int(round(h * max(ratio))), h
    else:
        fw, fh = w, h
    cw = torch.where(any_ok, cw, torch.full_like(cw, fw))
    chh = torch.where(any_ok, chh, torch.full_like(chh, fh))
    u_top = torch.rand(b, generator=gen, dtype=torch.float64)
    u_left = torch.rand(b, generator=gen, dtype=torch.float64)
    top = torch.where(any_ok, torch.floor(u_top * (h - chh + 1)).long(), (h - chh) // 2)
    left = torch.where(any_ok, torch.floor(u_left * (w - cw + 1)).long(), (w - cw) // 2)
    return top, left, chh, cw


def resized_crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: torch.Tensor, width: torch.Tensor,
                 size: int, mode: str = "bicubic", clamp: bool = True) -> torch.Tensor:
    """Crop box i of image i and resize it to size x size, all images at once (grid_sample).

    Sampling positions are those of torch/torchvision resize with align_corners=False; no
    antialiasing (only matters when a crop is shrunk, at most 256 -> 224 px in the paper's
    ImageNet setting). `clamp` clips bicubic overshoot to [0, 1] as PIL's uint8 output does.
    """
    b, _, h, w = x.shape
    dev = x.device
    top, left, height, width = (t.to(dev, torch.float32) for t in (top, left, height, width))
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = width / w
    theta[:, 0, 2] = (2 * left + width) / w - 1
    theta[:, 1, 1] = height / h
    theta[:, 1, 2] = (2 * top + height) / h - 1
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    out = F.grid_sample(x.float(), grid, mode=mode, padding_mode="border", align_corners=False)
    return out.clamp_(0.0, 1.0) if clamp else out


def random_resized_crop(x: torch.Tensor, gen: torch.Generator, size: int | None = None, scale=(0.08, 1.0),
                        ratio=(0.75, 4.0 / 3.0), mode: str = "bicubic") -> torch.Tensor:
    b, _, h, w = x.shape
    top, left, height, width = rrc_params(b, h, w, gen, scale, ratio)
    return resized_crop(x, top, left, height, width, size or h, mode).contiguous(memory_format=_format(x))


# ----------------------------------------------------------------------------- colour

def rgb_to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, H, W) of RGB images; 1-channel images are returned as they are."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    return (GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b).unsqueeze(1)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    f = factor.view(-1, 1, 1, 1).to(a.dtype)
    return (f * a + (1.0 - f) * b).clamp_(0.0, 1.0)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _blend(x, torch.zeros_like(x), factor)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    mean = rgb_to_grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(x, mean, factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return _blend(x, rgb_to_grayscale(x), factor)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> HSV in [0, 1] (the algorithm of PIL and torchvision)."""
    r, g, _ = x.unbind(1)
    minc, maxc = torch.aminmax(x, dim=1)
    eqc = maxc == minc
    rng = maxc - minc
    ones = torch.ones_like(maxc)
    s = rng / torch.where(eqc, ones, maxc)
    div = torch.where(eqc, ones, rng).unsqueeze(1)
    rc, gc, bc = ((maxc.unsqueeze(1) - x) / div).unbind(1)
    neq_r = maxc != r
    eq_g = maxc == g
    h = (bc - gc) * (~neq_r) + (2.0 + rc - bc) * (eq_g & neq_r) + (4.0 + gc - rc) * (neq_r & ~eq_g)
    h = torch.fmod(h / 6.0 + 1.0, 1.0)
    return torch.stack((h, s, maxc), dim=1)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x.unbind(1)
    h6 = h * 6
    i = torch.floor(h6)
    f = h6 - i
    i = i.long().remainder(6)
    q = ((1.0 - s * f) * v).clamp(0.0, 1.0)
    t = ((1.0 - s * (1.0 - f)) * v).clamp(0.0, 1.0)
    p = ((1.0 - s) * v).clamp(0.0, 1.0)
    vpqt = torch.stack((v, p, q, t), dim=1)
    select = torch.tensor([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]], device=x.device)
    return vpqt.gather(1, select[:, i].permute(1, 0, 2, 3))


def adjust_hue(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by `factor` (in [-0.5, 0.5]) turns, per image."""
    if x.shape[1] == 1:
        return x
    hsv = rgb_to_hsv(x)
    h = torch.remainder(hsv[:, 0] + factor.view(-1, 1, 1).to(x.dtype), 1.0)
    return hsv_to_rgb(torch.stack((h, hsv[:, 1], hsv[:, 2]), dim=1))


_JITTER_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def color_jitter(x: torch.Tensor, gen: torch.Generator, brightness: float = 0.4, contrast: float = 0.4,
                 saturation: float = 0.4, hue: float = 0.4, p: float = 1.0) -> torch.Tensor:
    """torchvision's RandomApply([ColorJitter(b, c, s, h)], p), batched.

    Per image: applied with probability p; factors brightness/contrast/saturation ~
    U[max(0, 1 - v), 1 + v], hue shift ~ U[-h, h]; the four operations in a random order of
    its own (as ColorJitter's randperm per call). Each operation runs once per position on
    the images that have it there (boolean-mask gathers), so the work is 4 operations per image.
    """
    b = x.shape[0]
    apply = torch.rand(b, generator=gen) < p
    factors = torch.stack([_uniform(b, gen, max(0.0, 1 - v), 1 + v) for v in (brightness, contrast, saturation)]
                          + [_uniform(b, gen, -hue, hue)], dim=1)
    order = torch.argsort(torch.rand(b, 4, generator=gen), dim=1)
    enabled = (brightness > 0, contrast > 0, saturation > 0, hue > 0)
    fmt = _format(x)
    x = x.clone()
    for pos in range(4):
        for k, op in enumerate(_JITTER_OPS):
            if not enabled[k]:
                continue
            sel = apply & (order[:, pos] == k)
            if not bool(sel.any()):
                continue
            dsel = sel.to(x.device)
            x[dsel] = op(x[dsel], factors[sel, k].to(x.device))
    return x.contiguous(memory_format=fmt)


def random_grayscale(x: torch.Tensor, gen: torch.Generator, p: float = 0.2) -> torch.Tensor:
    """Per image with probability p: the luma replicated over the channels."""
    sel = (torch.rand(x.shape[0], generator=gen) < p).to(x.device).view(-1, 1, 1, 1)
    if x.shape[1] == 1:
        return x
    return torch.where(sel, rgb_to_grayscale(x).expand_as(x), x)


def random_solarize(x: torch.Tensor, gen: torch.Generator, p: float = 0.2, threshold: float = 128 / 255) -> torch.Tensor:
    """Per image with probability p: invert every value >= threshold (PIL ImageOps.solarize, threshold 128)."""
    sel = (torch.rand(x.shape[0], generator=gen) < p).to(x.device).view(-1, 1, 1, 1)
    return torch.where(sel & (x >= threshold), 1.0 - x, x)


# ----------------------------------------------------------------------------- the pipeline

def resolve_augment(aug: dict[str, Any] | None) -> dict[str, Any]:
    """AugmentOptions' defaults overridden by `aug`; raises OptionsError (a ValueError) naming a bad or
    unknown key (distill.augment.cutmix_beta), its value and what was expected."""
    return options.resolve(options.AugmentOptions, aug, "distill.augment")


def output_size(aug: dict[str, Any], input_size: int) -> int:
    """Side of the augmented images for inputs of side `input_size`."""
    return (aug["rrc_size"] or input_size) if aug["random_resized_crop"] else input_size


def augment_batch(x: torch.Tensor, aug: dict[str, Any], gen: torch.Generator, mean, std
                  ) -> tuple[torch.Tensor, list[float]]:
    """The distillation augmentation of a float batch in pixel space (see the module docstring).

    `aug` is a resolved option dict (`resolve_augment`). Returns (normalised batch, the MixUp/
    CutMix coefficients applied, in order: each means x <- lam x + (1 - lam) x.flip(0)).
    """
    fmt = _format(x)
    if aug["random_resized_crop"]:
        x = random_resized_crop(x, gen, aug["rrc_size"], aug["rrc_scale"], aug["rrc_ratio"])
    if aug["hflip"]:
        x = random_hflip(x, gen)
    if aug["random_crop"] and aug["crop_padding"] > 0:
        x = random_crop(x, gen, aug["crop_padding"])
    if aug["color_jitter_p"] > 0:
        x = color_jitter(x, gen, *aug["color_jitter"], p=aug["color_jitter_p"])
    if aug["grayscale_p"] > 0:
        x = random_grayscale(x, gen, aug["grayscale_p"])
    if aug["solarize_p"] > 0:
        x = random_solarize(x, gen, aug["solarize_p"])
    x = normalize(x, mean, std)
    lams: list[float] = []
    if aug["mixup"]:
        x, lam = mixup(x, gen, aug["mixup_alpha"])
        lams.append(lam)
    if aug["cutmix"]:
        x, lam = cutmix_lam(x, gen, aug["cutmix_beta"])
        lams.append(lam)
    return x.contiguous(memory_format=fmt), lams
