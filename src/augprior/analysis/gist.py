"""GIST descriptors (Oliva & Torralba 2001), batched with torch.fft, after the reference LMgist: the grayscale
image, prefiltered (whitening and local contrast normalisation), filtered by a Gabor bank of 4 scales x 8
orientations in the frequency domain, the energy of each response averaged over a 4 x 4 grid
(4 x 8 x 16 = 512 numbers per image); `describe` L2-normalises them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gabor_bank(side: int, orientations=(8, 8, 8, 8)) -> torch.Tensor:
    """(filters, side, side) transfer functions (LMgist's createGabor), scale-major, orientation 0 first."""
    f = torch.fft.fftshift(torch.arange(-side // 2, side - side // 2, dtype=torch.float64))
    fx, fy = torch.meshgrid(f, f, indexing="xy")
    fr = torch.sqrt(fx ** 2 + fy ** 2)
    theta = torch.atan2(fy, fx)
    out = []
    for i, n in enumerate(orientations):
        for j in range(n):
            p = (0.35, 0.3 / 1.85 ** i, 16 * n ** 2 / 32 ** 2, math.pi / n * j)
            t = theta + p[3]
            t = torch.remainder(t + math.pi, 2 * math.pi) - math.pi
            out.append(torch.exp(-10 * p[0] * (fr / side / p[1] - 1) ** 2 - 2 * p[2] * math.pi * t ** 2))
    return torch.stack(out)


def grayscale(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float (N, C, H, W) -> float64 (N, H, W), each image stretched to [0, 255] as LMgist does."""
    x = images.double()
    x = x.mean(1) if x.shape[1] == 3 else x[:, 0]
    x = x - x.amin((1, 2), keepdim=True)
    return x * (255 / x.amax((1, 2), keepdim=True).clamp_min(1e-12))


def symmetric_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """MATLAB's padarray(x, [p p], 'symmetric') on the last two dims (the edge pixel is repeated)."""
    x = torch.cat([x[..., :p, :].flip(-2), x, x[..., -p:, :].flip(-2)], -2)
    return torch.cat([x[..., :p].flip(-1), x, x[..., -p:].flip(-1)], -1)


def prefilter(x: torch.Tensor, fc: float = 4.0, pad: int = 5) -> torch.Tensor:
    """LMgist's prefilt: log, whitening, local contrast normalisation (N, H, W)."""
    x = symmetric_pad(torch.log(x + 1), pad)
    n = x.shape[-1]
    s1 = fc / math.sqrt(math.log(2))
    f = torch.fft.fftshift(torch.arange(-n // 2, n - n // 2, dtype=torch.float64))
    fx, fy = torch.meshgrid(f, f, indexing="xy")
    gf = torch.exp(-(fx ** 2 + fy ** 2) / s1 ** 2)
    out = x - torch.fft.ifft2(torch.fft.fft2(x) * gf).real
    local = torch.sqrt(torch.fft.ifft2(torch.fft.fft2(out ** 2) * gf).abs())
    out = out / (0.2 + local)
    return out[:, pad:-pad, pad:-pad]


def gist(images: torch.Tensor, side: int = 32, blocks: int = 4, orientations=(8, 8, 8, 8),
         batch_size: int = 256) -> torch.Tensor:
    """(N, filters * blocks^2) raw GIST energies of square images resized to `side`."""
    bank = gabor_bank(side + 2 * (side // 4), orientations)
    out = []
    for i in range(0, len(images), batch_size):
        x = grayscale(images[i:i + batch_size])
        if x.shape[-1] != side or x.shape[-2] != side:
            x = F.interpolate(x[:, None], size=(side, side), mode="bilinear", align_corners=False,
                              antialias=True)[:, 0]
        x = prefilter(x)
        p = side // 4  # LMgist pads the image by a quarter (symmetric) before filtering
        x = symmetric_pad(x, p)
        spec = torch.fft.fft2(x)[:, None] * bank[None]
        energy = torch.fft.ifft2(spec).abs()[..., p:p + side, p:p + side]
        pooled = F.adaptive_avg_pool2d(energy, blocks)  # (B, filters, blocks, blocks)
        out.append(pooled.flatten(1))
    return torch.cat(out)


def describe(images: torch.Tensor, **kw) -> torch.Tensor:
    """L2-normalised GIST descriptors (Bambach et al. 2018's convention before pairwise distances)."""
    return F.normalize(gist(images, **kw), dim=1)


def pairwise_distances(d: torch.Tensor, pairs: int | None = None, seed: int = 0) -> torch.Tensor:
    """Euclidean distances of all pairs i < j (or of `pairs` random pairs) of descriptor rows."""
    n = len(d)
    if pairs is None or pairs >= n * (n - 1) // 2:
        i, j = torch.triu_indices(n, n, 1)
    else:
        g = torch.Generator().manual_seed(seed)
        i, j = torch.randint(n, (pairs,), generator=g), torch.randint(n - 1, (pairs,), generator=g)
        j = j + (j >= i)
    return (d[i] - d[j]).norm(dim=1)
