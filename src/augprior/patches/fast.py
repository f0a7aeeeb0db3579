"""Fast engine: the same patches, batched in torch, on the CPU or a GPU.

Geometry: the square crop, the resized crop, the affine (rotation + x-shear), the optional
vertical flip and the centre crop are all affine maps, so each patch is ONE affine map from
output pixels to source pixels (default geometry "single"). It is sampled with `grid_sample`
(all patches that read the same level in one call) from a pyramid of the source shrunk by
2 ** (k / 4), each level made with PIL's anti-aliased bicubic resize, i.e. the reference's
own filter: a patch whose resized crop shrinks the source by f (source pixels per
resized-crop pixel) reads level floor(4 log2 f), pre-filtered for a factor within 19 % of f.
Pixels whose pre-image falls outside the resized crop (the affine's black corners) are set
to 0 with PIL's hard rule, and values are truncated as PIL's affine does. Geometry
"two_pass" resamples twice like the reference (see FastRenderer).

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

LEVELS_PER_OCTAVE = 4   # pyramid levels at shrink factors 2 ** (k / 4)
GEOMETRIES = ("single", "two_pass")
# "single" reads the pyramid once instead of interpolating twice, so it comes out sharper than
# the reference; a [c, 1 - 2c, c] blur of every level (c below) brings its mean gradient energy
# back to the reference's (measured on city / bridge / animals, see tests/test_patches_equivalence.py)
SINGLE_BLUR = 0.035
CHUNK_FLOATS = 1 << 21  # patches are rendered in chunks of about this many floats (cache-sized)


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
    """Renders patches of one source image; keeps its pyramid on `device`.

    `geometry`:
      - "single" (default): the whole chain (square crop, resized crop, rotation + shear,
        flip, centre crop) composed into ONE affine grid per patch, sampled bilinearly from
        the pyramid level of the crop's shrink factor (levels lightly blurred so that the
        patches are as sharp as the reference's). About 2x the speed of two_pass.
      - "two_pass": like the reference, two resamplings: the resized crop is read onto its
        own S x S grid (bicubic, from the pyramid level just finer than the crop's shrink
        factor), then one affine grid (rotation + shear + flip + centre crop) samples it
        bilinearly. About half the pixel error of "single" against the reference.
    Both end with PIL's fill rule (pre-image outside the resized crop -> 0) and truncation.

    The pyramid holds the source shrunk by 2 ** (k / 4), k = 0, 1, ..., each level made by
    PIL's anti-aliased bicubic resize (the reference's own filter), so a crop that shrinks
    the image by f reads a level pre-filtered for a factor within 19 % of f.
    """

    def __init__(self, image: np.ndarray, spec: PatchSpec, device: str | torch.device = "cpu",
                 geometry: str = "single"):
        from PIL import Image

        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {arr.dtype} {arr.shape}")
        if geometry not in GEOMETRIES:
            raise ValueError(f"geometry must be one of {GEOMETRIES}, not {geometry!r}")
        self.spec = spec
        self.geometry_mode = geometry
        self.device = torch.device(device)
        self.height, self.width = arr.shape[:2]
        spec.check_source(self.height, self.width)
        max_f = spec.crop_side(self.height, self.width) / spec.resized
        n_levels = 1 + max(0, int(math.floor(LEVELS_PER_OCTAVE * math.log2(max(max_f, 1.0)))))
        pil = Image.fromarray(np.ascontiguousarray(arr), "RGB")
        self.levels: list[torch.Tensor] = []
        for k in range(n_levels):
            g = 2.0 ** (k / LEVELS_PER_OCTAVE)
            size = (max(1, round(self.width / g)), max(1, round(self.height / g)))
            lvl = np.asarray(pil if k == 0 else pil.resize(size, Image.BICUBIC))
            t = torch.from_numpy(lvl.copy()).to(self.device).permute(2, 0, 1)[None].float()
            if geometry == "single" and SINGLE_BLUR > 0:
                t = _blur3(t, SINGLE_BLUR)
            self.levels.append(t.contiguous())

    def _level_of(self, f: np.ndarray) -> np.ndarray:
        k = np.floor(LEVELS_PER_OCTAVE * np.log2(np.maximum(f, 1e-12)) + 1e-9)
        return np.clip(k, 0, len(self.levels) - 1).astype(np.int64)

    def _sample_levels(self, level: np.ndarray, A: np.ndarray, rows: int, cols: int, mode: str) -> torch.Tensor:
        """Sample each patch n at source coordinates (A[n] applied to its (u, v) grid) from its level.

        A (N, 6) maps output (u, v) to continuous source pixels; returns (N, 3, rows, cols).
        Normalised coordinates are the same on every level (PIL maps [0, W) onto [0, W_k)).
        """
        dev = self.device
        n = len(level)
        u = torch.arange(cols, device=dev, dtype=torch.float32).view(1, 1, cols)
        v = torch.arange(rows, device=dev, dtype=torch.float32).view(1, rows, 1)
        a = A.copy()
        a[:, 0:3] *= 2.0 / self.width
        a[:, 2] -= 1.0
        a[:, 3:6] *= 2.0 / self.height
        a[:, 5] -= 1.0
        t = torch.from_numpy(a.astype(np.float32)).to(dev)
        out = torch.empty((n, 3, rows, cols), device=dev, dtype=torch.float32)
        separable = bool(np.all(A[:, 1] == 0) and np.all(A[:, 3] == 0))
        for lvl in np.unique(level):
            sel = np.flatnonzero(level == lvl)
            ts = t[torch.from_numpy(sel).to(dev)]
            grid = torch.empty((len(sel), rows, cols, 2), device=dev, dtype=torch.float32)
            if separable:   # axis-aligned map: x depends on the column only, y on the row only
                grid[..., 0] = (ts[:, 0].view(-1, 1, 1) * u + ts[:, 2].view(-1, 1, 1))
                grid[..., 1] = (ts[:, 4].view(-1, 1, 1) * v + ts[:, 5].view(-1, 1, 1))
            else:
                grid[..., 0] = ts[:, 0].view(-1, 1, 1) * u + ts[:, 1].view(-1, 1, 1) * v + ts[:, 2].view(-1, 1, 1)
                grid[..., 1] = ts[:, 3].view(-1, 1, 1) * u + ts[:, 4].view(-1, 1, 1) * v + ts[:, 5].view(-1, 1, 1)
            # all patches of one level in ONE grid_sample call: their grids stacked along the height
            grid = grid.view(1, len(sel) * rows, cols, 2)
            sampled = F.grid_sample(self.levels[lvl], grid, mode=mode, padding_mode="border", align_corners=False)
            out[torch.from_numpy(sel).to(dev)] = sampled.view(3, len(sel), rows, cols).transpose(0, 1)
        return out

    # -- geometry ------------------------------------------------------------------------
    def geometry(self, params: PatchParams) -> torch.Tensor:
        """Float tensor (N, 3, P, P) of integer values in [0, 255] (truncated like PIL's affine)."""
        P, S = self.spec.size, self.spec.resized
        dev = self.device
        R, Sm, f = patch_maps(params, self.spec)
        level = self._level_of(f)
        r = torch.from_numpy(R.astype(np.float32)).to(dev)
        u = torch.arange(P, device=dev, dtype=torch.float32).view(1, 1, P)
        v = torch.arange(P, device=dev, dtype=torch.float32).view(1, P, 1)
        xr = r[:, 0].view(-1, 1, 1) * u + r[:, 1].view(-1, 1, 1) * v + r[:, 2].view(-1, 1, 1)
        yr = r[:, 3].view(-1, 1, 1) * u + r[:, 4].view(-1, 1, 1) * v + r[:, 5].view(-1, 1, 1)
        if self.geometry_mode == "single":
            out = self._sample_levels(level, Sm, P, P, "bilinear")
        else:
            # pass 1: the resized crop on its own S x S grid: pixel (x, y) -> box origin + (x + .5) * w / S
            n = len(params)
            box = np.zeros((n, 6))
            box[:, 0] = params.w / S
            box[:, 2] = params.left0 + params.j + 0.5 * params.w / S
            box[:, 4] = params.h / S
            box[:, 5] = params.top0 + params.i + 0.5 * params.h / S
            crop = self._sample_levels(level, box, S, S, "bicubic")
            crop = crop.clamp_(0, 255).round_()          # PIL stores the resized crop as uint8
            # pass 2: rotation + shear + flip + centre crop, one affine grid, bilinear
            grid = torch.stack([xr * (2.0 / S) - 1.0, yr * (2.0 / S) - 1.0], dim=-1)
            out = F.grid_sample(crop, grid, mode="bilinear", padding_mode="border", align_corners=False)
        # PIL's fill rule: pixels whose pre-image is outside [0, S) x [0, S) of the resized crop are 0;
        # PIL truncates the interpolated value (the 1e-3 keeps exact integers exact)
        inside = (xr >= 0) & (xr < S) & (yr >= 0) & (yr < S)
        return out.clamp_(0, 255).add_(1e-3).floor_().mul_(inside.unsqueeze(1))

    def render(self, params: PatchParams, *, jpeg: bool = True) -> torch.Tensor:
        """uint8 (N, 3, P, P) on the renderer's device."""
        P, S = self.spec.size, self.spec.resized
        out = torch.empty((len(params), 3, P, P), dtype=torch.uint8, device=self.device)
        step = len(params) if self.device.type == "cuda" else max(1, CHUNK_FLOATS // (3 * S * S))
        for a in range(0, len(params), step):
            sub = params[a:a + step]
            x = self.geometry(sub)
            if sub.jitter.any():
                x = color_jitter(x, sub, self.spec)
            out[a:a + len(sub)] = x
        if jpeg and self.spec.jpeg_quality is not None and len(params):
            out = jpeg_roundtrip(out, self.spec.jpeg_quality)
        return out


def _blur3(x: torch.Tensor, c: float) -> torch.Tensor:
    """Separable [c, 1 - 2c, c] blur with edge replication, (1, 3, H, W)."""
    for dim in (3, 2):
        n = x.shape[dim]
        if n < 2:
            continue
        lo = torch.cat([x.narrow(dim, 0, 1), x.narrow(dim, 0, n - 1)], dim=dim)
        hi = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim=dim)
        x = (lo + hi).mul_(c).add_(x, alpha=1.0 - 2.0 * c)
    return x


# -- colour, with PIL's 8-bit semantics ------------------------------------------------------
# x is float32 (n, 3, P, P) holding integers in [0, 255]; factors are float32 (n,).

def _luma(x: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L: (19595 R + 38470 G + 7471 B + 2**15) >> 16 (exact in float32), (n, 1, P, P)."""
    lum = x[:, 0:1] * 19595.0
    lum.add_(x[:, 1:2] * 38470.0).add_(x[:, 2:3] * 7471.0).add_(32768.0)
    return lum.mul_(1.0 / 65536.0).floor_()


def _blend_(x: torch.Tensor, degenerate: torch.Tensor | float, factor: torch.Tensor) -> torch.Tensor:
    """In place: PIL's Image.blend(degenerate, x, factor) = trunc(d + factor * (x - d)) in [0, 255]."""
    f = factor.view(-1, 1, 1, 1)
    if isinstance(degenerate, float) and degenerate == 0.0:
        x.mul_(f)
    else:
        x.sub_(degenerate).mul_(f).add_(degenerate)
    return x.clamp_(0, 255).floor_()


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend_(x, 0.0, f)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    # PIL: mean of the L image, rounded as int(mean + 0.5); an exact integer sum, so the
    # result does not depend on how the reduction is split
    total = _luma(x).to(torch.int64).sum(dim=(1, 2, 3), keepdim=True)
    count = x.shape[2] * x.shape[3]
    mean = torch.div(2 * total + count, 2 * count, rounding_mode="floor").to(x.dtype)
    return _blend_(x, mean, f)


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return _blend_(x, _luma(x), f)


def adjust_hue(x: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """torchvision's PIL adjust_hue: PIL's 8-bit HSV, H += int(hue * 255) (mod 256), back to RGB.

    Follows Pillow's rgb2hsv / hsv2rgb (Convert.c) step by step, float32 where Pillow uses
    float and float64 where its expressions promote to double, truncating and rounding where it does.
    """
    f32, f64 = torch.float32, torch.float64
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    maxc = torch.maximum(torch.maximum(r, g), b)
    cr = maxc - torch.minimum(torch.minimum(r, g), b)
    gray = cr == 0
    crs = cr.masked_fill(gray, 1.0)
    rc, gc, bc = (maxc - r).div_(crs), (maxc - g).div_(crs), (maxc - b).div_(crs)
    h = torch.where(r == maxc, bc - gc, torch.where(g == maxc, (rc - bc).add_(2.0), (gc - rc).add_(4.0)))
    h = h.to(f64).div_(6.0).add_(1.0).remainder_(1.0).to(f32)             # fmod in double, stored as float
    h8 = h.to(f64).mul_(255.0).floor_().masked_fill_(gray, 0.0)           # (int)(h * 255.0)
    s8 = cr.div_(maxc.clamp(min=1.0)).to(f64).mul_(255.0).floor_()        # (int)(s * 255.0); 0 where gray
    h8 = h8.add_(torch.trunc(hue.to(f64) * 255.0).view(-1, 1, 1)).remainder_(256.0)
    hh = h8.mul_(6.0).div_(255.0)                                         # (float)h * 6.0 / 255.0 in double
    i = hh.floor()
    fr = (hh - i).to(f32).to(f64)                                         # float f
    fs = s8.div_(255.0).to(f32).to(f64)                                   # float fs
    v = maxc.to(f64)
    p = (1.0 - fs).mul_(v)
    q = (fs * fr).to(f32).to(f64).neg_().add_(1.0).mul_(v)                # fs * f is a float product
    t = (1.0 - fr).mul_(fs).neg_().add_(1.0).mul_(v)
    p, q, t = (torch.floor(y + 0.5).to(f32) for y in (p, q, t))           # round() of a value >= 0
    v = maxc
    sector = i.remainder_(6.0)
    choices = {0: (v, t, p), 1: (q, v, p), 2: (p, v, t), 3: (p, q, v), 4: (t, p, v), 5: (v, p, q)}
    out_r, out_g, out_b = v.clone(), t.clone(), p.clone()                 # sector 0
    for k in range(1, 6):
        m = sector == k
        cr_, cg_, cb_ = choices[k]
        out_r = torch.where(m, cr_, out_r)
        out_g = torch.where(m, cg_, out_g)
        out_b = torch.where(m, cb_, out_b)
    zero_s = (s8 == 0)
    x[:, 0] = torch.where(zero_s, v, out_r)
    x[:, 1] = torch.where(zero_s, v, out_g)
    x[:, 2] = torch.where(zero_s, v, out_b)
    return x


_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
_KEYS = ("brightness", "contrast", "saturation", "hue")


def color_jitter(x: torch.Tensor, params: PatchParams, spec: PatchSpec) -> torch.Tensor:
    """Apply each jittered patch's four ops in its own order (torchvision's random order), in place."""
    dev = x.device
    jit = np.flatnonzero(params.jitter)
    if not jit.size:
        return x
    order = params.order[jit]
    factors = {k: torch.from_numpy(getattr(params, k)[jit].astype(np.float32)).to(dev) for k in _KEYS}
    full = jit.size == len(params)
    jit_t = torch.from_numpy(jit).to(dev)
    sub = x if full else x[jit_t]
    for step in range(4):
        for op in range(4):
            if spec.jitter[op] <= 0:
                continue
            rows = np.flatnonzero(order[:, step] == op)
            if not rows.size:
                continue
            if rows.size == len(sub):
                sub = _OPS[op](sub, factors[_KEYS[op]])
            else:
                r = torch.from_numpy(rows).to(dev)
                sub[r] = _OPS[op](sub[r], factors[_KEYS[op]][r])
    if not full:
        x[jit_t] = sub
    return x


# -- JPEG ------------------------------------------------------------------------------------

def jpeg_roundtrip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-encode and decode a uint8 batch (N, 3, P, P) with torchvision.io (batched lists)."""
    import warnings

    from torchvision.io import decode_jpeg, encode_jpeg

    with warnings.catch_warnings():
        # torchvision 0.29 flags its codecs as moving to torchcodec; they are still the libjpeg ones
        warnings.simplefilter("ignore", DeprecationWarning)
        if x.device.type == "cuda":
            try:
                enc = encode_jpeg(list(x.contiguous()), quality=quality)
                return torch.stack(decode_jpeg(enc, device=x.device))
            except (RuntimeError, NotImplementedError):
                pass  # no GPU codec in this torchvision build: use the CPU one
        enc = encode_jpeg(list(x.to("cpu").contiguous()), quality=quality)
        return torch.stack(decode_jpeg(enc)).to(x.device)
