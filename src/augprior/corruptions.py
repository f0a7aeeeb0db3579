"""The 15 common corruptions of Hendrycks & Dietterich (ICLR 2019) at severities 1-5, on numpy, SciPy, scikit-image,
Pillow and torch, batched over images, with the severity constants of the benchmark's released generators
(github.com/hendrycks/robustness, ImageNet-C/create_c/): make_cifar_c.py's for 32-px images (CIFAR-10-C) and
make_imagenet_c.py's for 224-px images (ImageNet-C); `preset` picks one (by default from the image side).

Where the reference calls a library this project does not use, the same operation is written here:
- motion blur (and the streaks of snow): the reference calls ImageMagick's MagickMotionBlurImage through Wand;
  here, as in the maintained re-implementation `imagecorruptions` (bethgelab), a line kernel: 2 * radius + 1
  Gaussian-weighted (sigma) copies shifted along the angle, edge pixels repeated. Not bit-identical to ImageMagick.
- OpenCV's GaussianBlur / filter2D / warpAffine / resize: scipy.ndimage and torch with the same border modes.
- frost: the benchmark's six frost photographs (resources/frost, byte-identical to the reference's).
`imagecorruptions` itself is not used: it has ImageNet-C's constants only (no CIFAR-10-C), its elastic transform
is not the benchmark's, it installs opencv-python and calls APIs that numpy 2 / scikit-image >= 0.19 removed.

Every function maps uint8 (N, H, W, 3) to uint8 (N, H, W, 3); randomness comes from the generator passed in and
is drawn per image, as the reference draws it per image.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

Corruption = Callable[[np.ndarray, Any, np.random.Generator, str], np.ndarray]
PRESETS = {32: "cifar", 224: "imagenet"}  # image side -> whose constants
CORRUPTIONS: dict[str, Corruption] = {}
LEVELS: dict[str, dict[str, list]] = {}  # name -> preset -> the 5 severities' constants
NOT_IMPLEMENTED: dict[str, str] = {}  # name -> why (none: all 15 benchmark corruptions are implemented)
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")


def corruption(name: str, *, cifar: list, imagenet: list):
    """Register corruption `name` with its 5 severities' constants for 32-px (CIFAR-10-C) and 224-px images."""
    if len(cifar) != 5 or len(imagenet) != 5:
        raise ValueError(f"{name}: 5 severities each")

    def deco(fn: Corruption) -> Corruption:
        CORRUPTIONS[name] = fn
        LEVELS[name] = {"cifar": cifar, "imagenet": imagenet}
        return fn
    return deco


def _f(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def preset_for(images: np.ndarray, preset: str | None = None) -> str:
    if preset is None:
        side = images.shape[1]
        if images.shape[1] != images.shape[2] or side not in PRESETS:
            raise ValueError(f"no benchmark constants for {images.shape[1]}x{images.shape[2]} images (32 px: "
                             "CIFAR-10-C's, 224 px: ImageNet-C's); pass preset='cifar' or 'imagenet'")
        return PRESETS[side]
    if preset not in PRESETS.values():
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(PRESETS.values())})")
    return preset


def corrupt(name: str, images: np.ndarray, severity: int, seed: int | tuple[int, ...] = 0,
            preset: str | None = None) -> np.ndarray:
    """Corruption `name` at `severity` of uint8 (N, H, W, 3) images, reproducible for a seed (an int, or a
    tuple such as (seed, batch index) for the batches of one large set)."""
    if name not in CORRUPTIONS:
        why = NOT_IMPLEMENTED.get(name, f"known: {', '.join(CORRUPTIONS)}")
        raise ValueError(f"corruption {name!r} is not available ({why})")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be 1..5, got {severity}")
    p = preset_for(images, preset)
    rng = np.random.default_rng([*np.atleast_1d(seed).tolist(), severity, zlib.crc32(name.encode())])
    return CORRUPTIONS[name](images, LEVELS[name][p][severity - 1], rng, p)


# ----------------------------------------------------------------------------- shared operations

def _gaussian(x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> np.ndarray:
    """skimage.filters.gaussian of each (H, W[, C]) image of a batch (per channel)."""
    from scipy.ndimage import gaussian_filter

    sig = (0, sigma, sigma) + (0,) * (x.ndim - 3)
    return gaussian_filter(x, sig, mode=mode, truncate=truncate)


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


def _motion_blur(x: np.ndarray, radius: int, sigma: float, angles: np.ndarray) -> np.ndarray:
    """Line-kernel motion blur of (N, H, W[, C]) float images, one angle (degrees) per image: the sum over
    i < 2 * radius + 1 of the image shifted i steps along the angle (edges repeated), Gaussian weights of
    i (sigma), as imagecorruptions' _motion_blur (the stand-in for ImageMagick's MagickMotionBlurImage)."""
    n, h, w = x.shape[:3]
    width = 2 * radius + 1
    k = np.exp(-np.arange(width) ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    py, px = np.sin(np.deg2rad(angles)), np.cos(np.deg2rad(angles))  # unit direction (hypot 1)
    out = np.zeros(x.shape, np.float64)
    alive = np.ones(n, bool)
    rows0, cols0, nn = np.arange(h), np.arange(w), np.arange(n)[:, None, None]
    for i in range(width):
        dy = -np.ceil(i * py - 0.5).astype(int)
        dx = -np.ceil(i * px - 0.5).astype(int)
        alive &= (np.abs(dy) < h) & (np.abs(dx) < w)  # the reference stops where the motion leaves the image
        rows = np.clip(rows0[None] - dy[:, None], 0, h - 1)
        cols = np.clip(cols0[None] - dx[:, None], 0, w - 1)
        out += (k[i] * alive).reshape((n,) + (1,) * (x.ndim - 1)) * x[nn, rows[:, :, None], cols[:, None, :]]
    return out


def _sample(f: np.ndarray, sy: np.ndarray, sx: np.ndarray, mode: str) -> np.ndarray:
    """Bilinear samples of (N, H, W, C) images at rows sy and columns sx (broadcast to (N, H', W') together):
    (N, H', W', C)."""
    from scipy.ndimage import map_coordinates

    n, c = f.shape[0], f.shape[-1]
    sy, sx = np.broadcast_arrays(sy, sx)
    shape = (n,) + sy.shape[-2:] + (c,)
    sy, sx = (np.broadcast_to(a[..., None], shape) for a in (sy, sx))
    nn = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None, None], shape)
    cc = np.broadcast_to(np.arange(c, dtype=np.float64), shape)
    return map_coordinates(f, [nn, sy, sx, cc], order=1, mode=mode)


def _warp_affine(f: np.ndarray, pts1: np.ndarray, pts2: np.ndarray) -> np.ndarray:
    """cv2.warpAffine(img, cv2.getAffineTransform(pts1, pts2[i]), borderMode=BORDER_REFLECT_101) of each image i
    of a (N, H, W, C) batch: pts are three (x, y) points, pts2 (N, 3, 2); bilinear."""
    n, h, w = f.shape[:3]
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    src_x, src_y = np.empty((n, h, w)), np.empty((n, h, w))
    for i in range(n):  # dst -> src: the affine map taking pts2 to pts1 (the inverse of pts1 -> pts2)
        a = np.linalg.solve(np.c_[pts2[i], np.ones(3)], pts1)  # (3, 2)
        src_x[i] = a[0, 0] * xx + a[1, 0] * yy + a[2, 0]
        src_y[i] = a[0, 1] * xx + a[1, 1] * yy + a[2, 1]
    return _sample(f, src_y, src_x, "mirror")


def _per_image(x: np.ndarray, fn) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(fn(Image.fromarray(img))) for img in x])


# ----------------------------------------------------------------------------- noise

@corruption("gaussian", cifar=[0.04, 0.06, 0.08, 0.09, 0.10], imagenet=[0.08, 0.12, 0.18, 0.26, 0.38])
def gaussian_noise(x, c, rng, preset):
    return _u8(_f(x) + rng.normal(scale=c, size=x.shape))


@corruption("shot", cifar=[500, 250, 100, 75, 50], imagenet=[60, 25, 12, 5, 3])
def shot_noise(x, c, rng, preset):
    return _u8(rng.poisson(_f(x) * c) / c)


@corruption("impulse", cifar=[0.01, 0.02, 0.03, 0.05, 0.07], imagenet=[0.03, 0.06, 0.09, 0.17, 0.27])
def impulse_noise(x, c, rng, preset):
    """Salt and pepper on a fraction `c` of the values, half of them each (scikit-image's s&p)."""
    out = _f(x)
    hit = rng.random(x.shape) < c
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(np.float64)
    return _u8(out)


# ----------------------------------------------------------------------------- blur

def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """The reference's aliased disk kernel, smoothed by a 3x3 (radius <= 8) or 5x5 Gaussian (cv2.GaussianBlur)."""
    from scipy.ndimage import gaussian_filter

    half, taps = (8, 1) if radius <= 8 else (int(radius), 2)
    r = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(r, r)
    k = (xx ** 2 + yy ** 2 <= radius ** 2).astype(np.float64)
    k /= k.sum()
    return gaussian_filter(k, alias_blur, mode="mirror", truncate=taps / max(alias_blur, 1e-6))


@corruption("defocus", cifar=[(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
            imagenet=[(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)])
def defocus_blur(x, c, rng, preset):
    from scipy.ndimage import convolve

    k = _disk(*c)[None, :, :, None]
    return _u8(convolve(_f(x), k, mode="mirror"))  # cv2.filter2D's border: BORDER_REFLECT_101


@corruption("glass", cifar=[(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
            imagenet=[(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)])
def glass_blur(x, c, rng, preset):
    """Blur (sigma), then `iterations` sweeps over the pixels, bottom-right to top-left, each taking the value of
    the pixel at a random offset in [-delta, delta), then blur again. The reference means to swap the two pixels,
    but its `x[h, w], x[h', w'] = x[h', w'], x[h, w]` assigns through numpy views, so the second pixel keeps its
    value: the released benchmark was made with this copy, and so it is here. Sequential within an image (each
    step reads the previous ones), batched over images."""
    sigma, delta, iterations = c
    n, h, w = x.shape[:3]
    y = (_gaussian(_f(x), sigma) * 255).astype(np.uint8)  # np.uint8(...): truncation, as the reference
    nn = np.arange(n)
    rows, cols = np.arange(h - delta, delta, -1), np.arange(w - delta, delta, -1)
    for _ in range(iterations):
        d = rng.integers(-delta, delta, size=(len(rows), len(cols), 2, n))  # (dx, dy) per pixel and image
        for a, i in enumerate(rows):
            for b, j in enumerate(cols):
                y[:, i, j] = y[nn, i + d[a, b, 1], j + d[a, b, 0]]
    return _u8(_gaussian(y / 255.0, sigma))


@corruption("motion", cifar=[(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
            imagenet=[(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)])
def motion_blur(x, c, rng, preset):
    angles = rng.uniform(-45, 45, size=len(x))
    return np.round(np.clip(_motion_blur(x.astype(np.float64), c[0], c[1], angles), 0, 255)).astype(np.uint8)


@corruption("zoom", cifar=[(1.06, 0.01), (1.11, 0.01), (1.16, 0.01), (1.21, 0.01), (1.26, 0.01)],
            imagenet=[(1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)])
def zoom_blur(x, c, rng, preset):
    f = _f(x)
    factors = np.arange(1, c[0], c[1])
    out = f + sum(_clipped_zoom(f, z) for z in factors)
    return _u8(out / (len(factors) + 1))


# ----------------------------------------------------------------------------- weather

def _gray(x: np.ndarray) -> np.ndarray:
    """cv2.cvtColor(RGB2GRAY) of (..., 3) floats, keeping a channel axis."""
    return (x @ np.array([0.299, 0.587, 0.114]))[..., None]


@corruption("snow", cifar=[(0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
                           (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
                           (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)],
            imagenet=[(0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                      (0.55, 0.3, 4, 0.9, 12, 8, 0.7), (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                      (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)])
def snow(x, c, rng, preset):
    """A thresholded, zoomed Gaussian flake layer streaked by motion blur, added twice (once rotated by 180
    degrees) to the image brightened towards its grey level."""
    loc, scale, zoom, threshold, radius, sigma, keep = c
    f = _f(x)
    layer = rng.normal(loc, scale, size=x.shape[:3] + (1,))
    layer = _clipped_zoom(layer, zoom)
    layer[layer < threshold] = 0
    layer = (np.clip(layer[..., 0], 0, 1) * 255).astype(np.uint8)  # the reference's 8-bit PNG
    layer = _motion_blur(layer.astype(np.float64), radius, sigma, rng.uniform(-135, -45, size=len(x)))
    layer = (np.round(np.clip(layer, 0, 255)) / 255.0)[..., None]
    f = keep * f + (1 - keep) * np.maximum(f, _gray(f) * 1.5 + 0.5)
    return _u8(f + layer + np.rot90(layer, k=2, axes=(1, 2)))


@lru_cache(maxsize=2)
def _frost_frames(scale: float) -> tuple[np.ndarray, ...]:
    """The six frost photographs (RGB uint8), resized by `scale` as cv2.resize(fx=fy=scale) does (INTER_LINEAR:
    bilinear without antialiasing, pixel centres (i + 0.5) / scale - 0.5, the output side rounded)."""
    from PIL import Image

    out = []
    for name in FROST_FILES:
        with resources.files("augprior").joinpath(f"resources/frost/{name}").open("rb") as fh:
            img = np.asarray(Image.open(fh).convert("RGB"))
        if scale != 1:
            h, w = (int(round(s * scale)) for s in img.shape[:2])
            sy = np.clip((np.arange(h) + 0.5) / scale - 0.5, 0, img.shape[0] - 1)
            sx = np.clip((np.arange(w) + 0.5) / scale - 0.5, 0, img.shape[1] - 1)
            img = _u8(_sample(_f(img[None]), sy[:, None], sx[None, :], "nearest"))[0]
        out.append(img)
    return tuple(out)


@corruption("frost", cifar=[(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)],
            imagenet=[(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)])
def frost(x, c, rng, preset):
    """c[0] x the image + c[1] x a random crop of a frost photograph (shrunk to 20% for 32-px images)."""
    frames = _frost_frames(0.2 if preset == "cifar" else 1.0)
    h, w = x.shape[1:3]
    crops = []
    for _ in range(len(x)):
        fr = frames[rng.integers(5)]  # the reference draws among the first five of its six files
        top, left = rng.integers(0, fr.shape[0] - h), rng.integers(0, fr.shape[1] - w)
        crops.append(fr[top:top + h, left:left + w])
    return np.round(np.clip(c[0] * x + c[1] * np.stack(crops).astype(np.float64), 0, 255)).astype(np.uint8)


def _plasma_fractal(n: int, mapsize: int, wibbledecay: float, rng: np.random.Generator) -> np.ndarray:
    """n diamond-square height maps (mapsize x mapsize, a power of two) in [0, 1], the reference's
    plasma_fractal batched over maps."""
    m = np.zeros((n, mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled(a):
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corners = m[:, 0:mapsize:step, 0:mapsize:step]
        sq = corners + np.roll(corners, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        m[:, half:mapsize:step, half:mapsize:step] = wibbled(sq)
        dr = m[:, half:mapsize:step, half:mapsize:step]
        ul = m[:, 0:mapsize:step, 0:mapsize:step]
        m[:, 0:mapsize:step, half:mapsize:step] = wibbled(dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2))
        m[:, half:mapsize:step, 0:mapsize:step] = wibbled(dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1))
        step //= 2
        wibble /= wibbledecay
    m -= m.min(axis=(1, 2), keepdims=True)
    return m / m.max(axis=(1, 2), keepdims=True)


@corruption("fog", cifar=[(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
            imagenet=[(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)])
def fog(x, c, rng, preset):
    f = _f(x)
    h, w = x.shape[1:3]
    mapsize = 1 << (max(h, w) - 1).bit_length()  # 32 for CIFAR, 256 for 224 px: the reference's map sizes
    top = f.max(axis=(1, 2, 3), keepdims=True)
    f = f + c[0] * _plasma_fractal(len(x), mapsize, c[1], rng)[:, :h, :w, None]
    return _u8(f * top / (top + c[0]))


# ----------------------------------------------------------------------------- digital

@corruption("brightness", cifar=[0.05, 0.1, 0.15, 0.2, 0.3], imagenet=[0.1, 0.2, 0.3, 0.4, 0.5])
def brightness(x, c, rng, preset):
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(_f(x))
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return _u8(hsv2rgb(hsv))


@corruption("contrast", cifar=[0.75, 0.5, 0.4, 0.3, 0.15], imagenet=[0.4, 0.3, 0.2, 0.1, 0.05])
def contrast(x, c, rng, preset):
    f = _f(x)
    means = f.mean(axis=(1, 2), keepdims=True)
    return _u8((f - means) * c + means)


@corruption("elastic", cifar=[(32 * 0, 32 * 0, 32 * 0.08), (32 * 0.05, 32 * 0.2, 32 * 0.07),
                              (32 * 0.08, 32 * 0.06, 32 * 0.06), (32 * 0.1, 32 * 0.04, 32 * 0.05),
                              (32 * 0.1, 32 * 0.03, 32 * 0.03)],
            # "244 should have been 224, but ultimately nothing is incorrect" (the reference's comment)
            imagenet=[(244 * 2, 244 * 0.7, 244 * 0.1), (244 * 2, 244 * 0.08, 244 * 0.2),
                      (244 * 0.05, 244 * 0.01, 244 * 0.02), (244 * 0.07, 244 * 0.01, 244 * 0.02),
                      (244 * 0.12, 244 * 0.01, 244 * 0.02)])
def elastic_transform(x, c, rng, preset):
    """A random affine warp (three points moved by up to c[2] px; cv2.warpAffine, bilinear, BORDER_REFLECT_101),
    then a smooth random displacement field (uniform noise blurred by sigma c[1], times alpha c[0]), bilinear
    with reflected borders: the benchmark's elastic transform (make_cifar_c.py / make_imagenet_c.py)."""
    alpha, sigma, shift = c
    n, h, w = x.shape[:3]
    centre = np.array([h, w], np.float64) // 2
    sq = min(h, w) // 3
    pts1 = np.array([centre + sq, [centre[0] + sq, centre[1] - sq], centre - sq])  # (x, y) points, as cv2's
    f = _warp_affine(_f(x), pts1, pts1[None] + rng.uniform(-shift, shift, size=(n, 3, 2)))
    if alpha > 0:
        yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
        dx = _gaussian(rng.uniform(-1, 1, size=(n, h, w)), sigma, mode="reflect", truncate=3) * alpha
        dy = _gaussian(rng.uniform(-1, 1, size=(n, h, w)), sigma, mode="reflect", truncate=3) * alpha
        f = _sample(f, yy + dy.astype(np.float32), xx + dx.astype(np.float32), "reflect")
    return _u8(f)


@corruption("pixelate", cifar=[0.95, 0.9, 0.85, 0.75, 0.65], imagenet=[0.6, 0.5, 0.4, 0.3, 0.25])
def pixelate(x, c, rng, preset):
    from PIL import Image

    h, w = x.shape[1:3]
    return _per_image(x, lambda im: im.resize((int(w * c), int(h * c)), Image.BOX).resize((w, h), Image.BOX))


@corruption("jpeg", cifar=[80, 65, 58, 50, 40], imagenet=[25, 18, 15, 10, 7])
def jpeg(x, c, rng, preset):
    from PIL import Image

    def roundtrip(im):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=c)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return _per_image(x, roundtrip)

