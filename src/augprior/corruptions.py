"""Common corruptions of 32-px images at severities 1-5 (CIFAR-10-C, Hendrycks & Dietterich 2019), on numpy,
SciPy, scikit-image and Pillow, with the severity parameters of the released CIFAR-10-C generator.

Implemented (9 of the 15 benchmark corruptions): gaussian, shot, impulse (noise), defocus, zoom (blur),
brightness (weather), contrast, pixelate, jpeg (digital). Not implemented, with the reason in NOT_IMPLEMENTED:
glass blur, motion blur, snow, frost, fog, elastic. No maintained package makes them: `imagecorruptions` (last
release 2020) installs opencv-python beside torch and calls scikit-image APIs that no longer exist.

Every function maps uint8 (N, H, W, 3) to uint8 (N, H, W, 3); randomness comes from the generator passed in.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import numpy as np

Corruption = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
CORRUPTIONS: dict[str, Corruption] = {}
NOT_IMPLEMENTED = {
    "glass": "glass blur (a per-pixel local shuffle) is not implemented",
    "motion": "motion blur needs ImageMagick's MagickMotionBlurImage (not implemented)",
    "snow": "snow needs ImageMagick's motion blur (not implemented)",
    "frost": "frost needs the benchmark's frost photographs (not offline)",
    "fog": "fog (a diamond-square plasma fractal) is not implemented",
    "elastic": "elastic transform is not implemented",
}


def corruption(name: str):
    def deco(fn: Corruption) -> Corruption:
        CORRUPTIONS[name] = fn
        return fn
    return deco


def _f(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _level(values, severity: int):
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be 1..5, got {severity}")
    return values[severity - 1]


def corrupt(name: str, images: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Corruption `name` at `severity` of uint8 (N, H, W, 3) images, reproducible for a seed."""
    if name not in CORRUPTIONS:
        why = NOT_IMPLEMENTED.get(name, f"known: {', '.join(CORRUPTIONS)}")
        raise ValueError(f"corruption {name!r} is not available ({why})")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    return CORRUPTIONS[name](images, severity, np.random.default_rng([seed, severity, zlib.crc32(name.encode())]))


@corruption("gaussian")
def gaussian_noise(x, severity, rng):
    return _u8(_f(x) + rng.normal(scale=_level([0.04, 0.06, 0.08, 0.09, 0.10], severity), size=x.shape))


@corruption("shot")
def shot_noise(x, severity, rng):
    c = _level([500, 250, 100, 75, 50], severity)
    return _u8(rng.poisson(_f(x) * c) / c)


@corruption("impulse")
def impulse_noise(x, severity, rng):
    """Salt and pepper on a fraction `amount` of the values, half of them each (scikit-image's s&p)."""
    amount = _level([0.01, 0.02, 0.03, 0.05, 0.07], severity)
    out = _f(x)
    hit = rng.random(x.shape) < amount
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(np.float64)
    return _u8(out)


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    r = np.arange(-8, 9)
    xx, yy = np.meshgrid(r, r)
    k = (xx ** 2 + yy ** 2 <= radius ** 2).astype(np.float64)
    k /= k.sum()
    return gaussian_filter(k, alias_blur, truncate=1.0 / max(alias_blur, 1e-6))  # a 3x3 antialiasing blur


@corruption("defocus")
def defocus_blur(x, severity, rng):
    from scipy.ndimage import convolve

    radius, alias = _level([(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)], severity)
    k = _disk(radius, alias)[None, :, :, None]
    return _u8(convolve(_f(x), k, mode="reflect"))


def _clipped_zoom(img: np.ndarray, factor: float) -> np.ndarray:
    """Zoom (N, H, W, C) images by `factor` about their centre, cropped back to H x W: bilinear with corners on
    corners, as scipy.ndimage.zoom(order=1) (batched in torch: scipy takes minutes on a test set)."""
    import torch
    import torch.nn.functional as F

    h = img.shape[1]
    ch = int(np.ceil(h / factor))
    top = (h - ch) // 2
    crop = torch.from_numpy(np.ascontiguousarray(img[:, top:top + ch, top:top + ch])).permute(0, 3, 1, 2)
    side = int(round(ch * factor))
    z = F.interpolate(crop, size=(side, side), mode="bilinear", align_corners=True).permute(0, 2, 3, 1).numpy()
    t = (side - h) // 2
    return z[:, t:t + h, t:t + h]


@corruption("zoom")
def zoom_blur(x, severity, rng):
    top = _level([1.06, 1.11, 1.16, 1.21, 1.26], severity)
    f = _f(x)
    factors = np.arange(1, top, 0.01)
    out = f + sum(_clipped_zoom(f, z) for z in factors)
    return _u8(out / (len(factors) + 1))


@corruption("brightness")
def brightness(x, severity, rng):
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(_f(x))
    hsv[..., 2] = np.clip(hsv[..., 2] + _level([0.05, 0.1, 0.15, 0.2, 0.3], severity), 0, 1)
    return _u8(hsv2rgb(hsv))


@corruption("contrast")
def contrast(x, severity, rng):
    f = _f(x)
    means = f.mean(axis=(1, 2), keepdims=True)
    return _u8((f - means) * _level([0.75, 0.5, 0.4, 0.3, 0.15], severity) + means)


def _per_image(x: np.ndarray, fn) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(fn(Image.fromarray(img))) for img in x])


@corruption("pixelate")
def pixelate(x, severity, rng):
    from PIL import Image

    c = _level([0.95, 0.9, 0.85, 0.75, 0.65], severity)
    h, w = x.shape[1:3]
    return _per_image(x, lambda im: im.resize((int(w * c), int(h * c)), Image.BOX).resize((w, h), Image.BOX))


@corruption("jpeg")
def jpeg(x, severity, rng):
    from PIL import Image

    quality = _level([80, 65, 58, 50, 40], severity)

    def roundtrip(im):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return _per_image(x, roundtrip)
