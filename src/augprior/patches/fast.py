"""Fast engine: the same patches, batched in torch, on the CPU or a GPU.

Geometry: the square crop, the resized crop, the affine (rotation + x-shear), the optional
vertical flip and the centre crop are all affine maps, so each patch is ONE affine map from
output pixels to source pixels. It is sampled with `grid_sample` from a mip-map pyramid of
the source (2x2 box filter per level): a patch whose resized crop shrinks the source by a
factor f (source pixels per resized-crop pixel) reads level floor(log2(f) + LOD_BIAS), which
anti-aliases like PIL's bicubic resize does. Pixels whose pre-image falls outside the
resized crop (the affine's black corners) are set to 0 with the same hard rule as PIL.

Colour: PIL's integer semantics, batched: brightness / contrast / saturation are PIL's
`Image.blend` (float, truncated to uint8), contrast uses PIL's rounded mean of the L image,
saturation PIL's L = (19595 R + 38470 G + 7471 B + 2**15) >> 16, hue goes through PIL's 8-bit
HSV with torchvision's integer hue shift. The four ops run in each patch's own random order
(torchvision's ColorJitter), one masked sub-batch per (step, op).

JPEG: torchvision.io.encode_jpeg / decode_jpeg, batched (libjpeg-turbo, 4:2:0, the bytes equal
PIL's for the same pixels); on CUDA the GPU codec when torchvision has it.

CPU results are bit-for-bit independent of the batch composition: every per-pixel computation
is elementwise (no reductions across patches, no matmul), and the only per-patch reduction
(the contrast mean) is an exact integer sum.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .params import PatchParams
from .spec import PatchSpec

LOD_BIAS = 0.0       # level = floor(log2(f) + LOD_BIAS); tuned against the reference (see tests)
MODE = "bilinear"


def inverse_affine_matrix(angle: np.ndarray, shear: np.ndarray, center: float) -> np.ndarray:
    """torchvision's _get_inverse_affine_matrix for PIL (translate 0, scale 1, shear_y 0), vectorised.

    Returns (N, 6): output (x, y) -> input (a x + b y + c, d x + e y + f) in PIL's continuous
    pixel coordinates (pixel k covers [k, k + 1)).
    """
    rot = np.radians(angle)
    sx = np.radians(shear)
    sy = 0.0
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m = np.stack([d, -b, np.zeros_like(a), -c, a, np.zeros_like(a)], axis=1)
    m[:, 2] += m[:, 0] * (-center) + m[:, 1] * (-center)
    m[:, 5] += m[:, 3] * (-center) + m[:, 4] * (-center)
    m[:, 2] += center
    m[:, 5] += center
    return m


def patch_maps(params: PatchParams, spec: PatchSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-patch affine maps from output pixel indices (u, v) of the final patch.

    Returns (R, Sm, f): R (N, 6) maps (u, v) to continuous coordinates of the resized crop
    (for the fill mask), Sm (N, 6) to continuous coordinates of the source image, and f (N,)
    the shrink factor of the resized crop (source pixels per resized-crop pixel).
    """
    S = spec.resized
    off = spec.center_offset
    n = len(params)
    # output index (u, v) -> continuous coordinate in the affine's output image (x + .5, y + .5);
    # a vertical flip maps row y to S - 1 - y before the centre crop.
    fl = params.vflip.astype(np.float64)
    # X = u + off + .5 ; Y = (1 - 2 fl) * v + [fl * (S - 1 - off) + (1 - fl) * off] + .5
    ty = fl * (S - 1 - off) + (1 - fl) * off + 0.5
    sy = 1.0 - 2.0 * fl
    M = inverse_affine_matrix(params.angle, params.shear, S * 0.5)
    R = np.empty((n, 6))
    # Xr = m0 X + m1 Y + m2, with X = u + (off + .5), Y = sy v + ty
    R[:, 0] = M[:, 0]
    R[:, 1] = M[:, 1] * sy
    R[:, 2] = M[:, 0] * (off + 0.5) + M[:, 1] * ty + M[:, 2]
    R[:, 3] = M[:, 3]
    R[:, 4] = M[:, 4] * sy
    R[:, 5] = M[:, 3] * (off + 0.5) + M[:, 4] * ty + M[:, 5]
    kx = params.w / S
    ky = params.h / S
    Sm = np.empty((n, 6))
    Sm[:, 0:3] = R[:, 0:3] * kx[:, None]
    Sm[:, 2] += params.left0 + params.j
    Sm[:, 3:6] = R[:, 3:6] * ky[:, None]
    Sm[:, 5] += params.top0 + params.i
    f = np.sqrt(kx * ky)
    return R, Sm, f


class FastRenderer:
    """Renders patches of one source image; keeps its pyramid on `device`."""

    def __init__(self, image: np.ndarray, spec: PatchSpec, device: str | torch.device = "cpu",
                 lod_bias: float | None = None, mode: str | None = None):
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {arr.dtype} {arr.shape}")
        self.spec = spec
        self.device = torch.device(device)
        self.height, self.width = arr.shape[:2]
        self.lod_bias = LOD_BIAS if lod_bias is None else lod_bias
        self.mode = MODE if mode is None else mode
        spec.check_source(self.height, self.width)
        side = spec.crop_side(self.height, self.width)
        max_f = side / spec.resized
        n_levels = 1 + max(0, int(math.floor(math.log2(max(max_f, 1.0)) + self.lod_bias)) + 1)
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device).permute(2, 0, 1)[None].float()
        self.levels = [x.contiguous()]
        for _ in range(1, n_levels):
            if min(x.shape[-2:]) < 2:
                break
            x = F.avg_pool2d(x, 2)
            self.levels.append(x.contiguous())

    # -- geometry ------------------------------------------------------------------------
    def geometry(self, params: PatchParams) -> torch.Tensor:
        """Float tensor (N, 3, P, P) in [0, 255], already truncated like PIL's affine."""
        P = self.spec.size
        S = self.spec.resized
        n = len(params)
        R, Sm, f = patch_maps(params, self.spec)
        lod = np.floor(np.log2(np.maximum(f, 1e-12)) + self.lod_bias)
        level = np.clip(lod, 0, len(self.levels) - 1).astype(np.int64)
        dev = self.device
        u = torch.arange(P, device=dev, dtype=torch.float32).view(1, 1, P)
        v = torch.arange(P, device=dev, dtype=torch.float32).view(1, P, 1)
        out = torch.empty((n, 3, P, P), device=dev, dtype=torch.float32)
        for lvl in np.unique(level):
            sel = np.flatnonzero(level == lvl)
            img = self.levels[lvl]
            Hl, Wl = img.shape[-2:]
            scale = 2.0 ** lvl
            # normalised grid coordinates (align_corners=False): g = 2 * X_level / W_level - 1
            a = Sm[sel].copy()
            a[:, 0:3] *= 2.0 / (scale * Wl)
            a[:, 2] -= 1.0
            a[:, 3:6] *= 2.0 / (scale * Hl)
            a[:, 5] -= 1.0
            t = torch.from_numpy(a.astype(np.float32)).to(dev)
            gx = t[:, 0].view(-1, 1, 1) * u + t[:, 1].view(-1, 1, 1) * v + t[:, 2].view(-1, 1, 1)
            gy = t[:, 3].view(-1, 1, 1) * u + t[:, 4].view(-1, 1, 1) * v + t[:, 5].view(-1, 1, 1)
            grid = torch.stack([gx, gy], dim=-1).view(1, len(sel) * P, P, 2)
            sampled = F.grid_sample(img, grid, mode=self.mode, padding_mode="border", align_corners=False)
            out[torch.from_numpy(sel).to(dev)] = sampled.view(3, len(sel), P, P).transpose(0, 1)
        # PIL's fill rule: outside [0, S) x [0, S) of the resized crop -> 0
        r = torch.from_numpy(R.astype(np.float32)).to(dev)
        xr = r[:, 0].view(-1, 1, 1) * u + r[:, 1].view(-1, 1, 1) * v + r[:, 2].view(-1, 1, 1)
        yr = r[:, 3].view(-1, 1, 1) * u + r[:, 4].view(-1, 1, 1) * v + r[:, 5].view(-1, 1, 1)
        inside = (xr >= 0) & (xr < S) & (yr >= 0) & (yr < S)
        out = out.clamp_(0, 255).floor_() * inside.unsqueeze(1)
        return out

    def render(self, params: PatchParams, *, jpeg: bool = True) -> torch.Tensor:
        """uint8 (N, 3, P, P) on the renderer's device."""
        x = self.geometry(params)
        if params.jitter.any():
            x = color_jitter(x, params, self.spec)
        x = x.to(torch.uint8)
        if jpeg and self.spec.jpeg_quality is not None and len(params):
            x = jpeg_roundtrip(x, self.spec.jpeg_quality)
        return x


# -- colour, with PIL's 8-bit semantics ------------------------------------------------------

def _blend(degenerate: torch.Tensor, img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL Image.blend(degenerate, img, factor): float32 arithmetic, truncated into [0, 255]."""
    return (degenerate + factor * (img - degenerate)).clamp_(0, 255).floor_()


def _luma(x: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L: (19595 R + 38470 G + 7471 B + 2**15) >> 16 (exact in float32)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.floor((r * 19595.0 + g * 38470.0 + b * 7471.0 + 32768.0) / 65536.0)


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(torch.zeros((), device=x.device), x, f)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # exact integer mean (deterministic whatever the batch), rounded as PIL: int(mean + 0.5)
    lum = _luma(x).to(torch.int64)
    total = lum.sum(dim=(1, 2, 3), keepdim=True)
    count = lum.shape[2] * lum.shape[3]
    mean = torch.div(2 * total + count, 2 * count, rounding_mode="floor").to(x.dtype)
    return _blend(mean, x, f)


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend(_luma(x), x, f)


def adjust_hue(x: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """torchvision's PIL adjust_hue: PIL's 8-bit HSV, H += int(hue * 255) modulo 256, back to RGB."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    cr = maxc - minc
    gray = cr == 0
    crs = torch.where(gray, torch.ones_like(cr), cr)
    s = cr / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    rc, gc, bc = (maxc - r) / crs, (maxc - g) / crs, (maxc - b) / crs
    h = torch.where(r == maxc, bc - gc, torch.where(g == maxc, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.remainder(h / 6.0 + 1.0, 1.0)
    hq = torch.where(gray, torch.zeros_like(h), torch.floor(h * 255.0).clamp_(0, 255))
    sq = torch.where(gray, torch.zeros_like(s), torch.floor(s * 255.0).clamp_(0, 255))
    v = maxc
    shift = torch.trunc(hue * 255.0).view(-1, 1, 1)
    hq = torch.remainder(hq + shift, 256.0)
    # PIL's hsv2rgb
    hh = hq * 6.0 / 255.0
    i = torch.floor(hh)
    fr = hh - i
    fs = sq / 255.0
    p = torch.floor(v * (1.0 - fs) + 0.5).clamp_(0, 255)
    q = torch.floor(v * (1.0 - fs * fr) + 0.5).clamp_(0, 255)
    t = torch.floor(v * (1.0 - fs * (1.0 - fr)) + 0.5).clamp_(0, 255)
    i = torch.remainder(i, 6.0)
    sel = [i == k for k in range(6)]

    def pick(c0, c1, c2, c3, c4, c5):
        return torch.where(sel[0], c0, torch.where(sel[1], c1, torch.where(sel[2], c2, torch.where(
            sel[3], c3, torch.where(sel[4], c4, c5)))))

    rr = pick(v, q, p, p, t, v)
    gg = pick(t, v, v, q, p, p)
    bb = pick(p, p, t, v, v, q)
    zero_s = sq == 0
    out = torch.stack([torch.where(zero_s, v, rr), torch.where(zero_s, v, gg), torch.where(zero_s, v, bb)], dim=1)
    return out


_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
_KEYS = ("brightness", "contrast", "saturation", "hue")


def color_jitter(x: torch.Tensor, params: PatchParams, spec: PatchSpec) -> torch.Tensor:
    """Apply each jittered patch's four ops in its own order (torchvision's random order)."""
    dev = x.device
    jit = np.flatnonzero(params.jitter)
    if not jit.size:
        return x
    order = params.order[jit]
    factors = {k: torch.from_numpy(getattr(params, k)[jit].astype(np.float32)).to(dev) for k in _KEYS}
    sub = x[torch.from_numpy(jit).to(dev)]
    for step in range(4):
        for op in range(4):
            if spec.jitter[op] <= 0:
                continue
            rows = np.flatnonzero(order[:, step] == op)
            if not rows.size:
                continue
            r = torch.from_numpy(rows).to(dev)
            f = factors[_KEYS[op]][r]
            y = sub[r]
            sub[r] = _OPS[op](y, f if op == 3 else f.view(-1, 1, 1, 1))
    x[torch.from_numpy(jit).to(dev)] = sub
    return x


# -- JPEG ------------------------------------------------------------------------------------

def jpeg_roundtrip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-encode and decode a uint8 batch (N, 3, P, P) with torchvision.io (batched lists)."""
    from torchvision.io import decode_jpeg, encode_jpeg

    if x.device.type == "cuda":
        try:
            enc = encode_jpeg(list(x.contiguous()), quality=quality)
            dec = decode_jpeg(enc, device=x.device)
            return torch.stack(dec)
        except (RuntimeError, NotImplementedError):
            pass  # no GPU codec in this torchvision build: use the CPU one
    cpu = x.to("cpu").contiguous()
    enc = encode_jpeg(list(cpu), quality=quality)
    dec = decode_jpeg(enc)
    return torch.stack(dec).to(x.device)
