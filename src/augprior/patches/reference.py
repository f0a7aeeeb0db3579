"""Reference engine: the official generator's transforms, one patch at a time, on PIL images.

Each patch applies torchvision.transforms.functional with the explicit parameters of
`params.sample_params` (so it can be compared patch by patch with the fast engine), in the
official order: crop -> resized_crop (bicubic) -> affine (bilinear, fill 0) -> [vflip] ->
center_crop -> [colour jitter in the sampled order] -> JPEG round trip (PIL, 4:2:0).
"""

from __future__ import annotations

import io as _io

import numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from .params import PatchParams
from .spec import PatchSpec

_JITTER_FNS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
_JITTER_KEYS = ("brightness", "contrast", "saturation", "hue")


def to_pil(image: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {arr.dtype} {arr.shape}")
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def render_one(img: Image.Image, p: dict, spec: PatchSpec, *, jpeg: bool = True) -> np.ndarray:
    """One patch (P, P, 3) uint8 from the row `p` of a PatchParams (see PatchParams.row)."""
    s, size = p["side"], spec.size
    x = TF.crop(img, p["top0"], p["left0"], s, s)
    x = TF.resized_crop(x, p["i"], p["j"], p["h"], p["w"], [spec.resized, spec.resized],
                        interpolation=InterpolationMode.BICUBIC, antialias=True)
    x = TF.affine(x, angle=float(p["angle"]), translate=[0, 0], scale=1.0, shear=[float(p["shear"]), 0.0],
                  interpolation=InterpolationMode.BILINEAR, fill=0)
    if p["vflip"]:
        x = TF.vflip(x)
    x = TF.center_crop(x, [size, size])
    if p["jitter"]:
        for k in p["order"]:
            factor = p[_JITTER_KEYS[k]]
            if spec.jitter[k] > 0:  # torchvision's ColorJitter skips an op whose strength is 0
                x = _JITTER_FNS[k](x, factor)
    if jpeg and spec.jpeg_quality is not None:
        return jpeg_roundtrip_pil(x, spec.jpeg_quality)
    return np.asarray(x, dtype=np.uint8).copy()


def jpeg_roundtrip_pil(img: Image.Image | np.ndarray, quality: int) -> np.ndarray:
    """Encode with PIL (libjpeg defaults: 4:2:0, as the official save_image) and decode again."""
    if not isinstance(img, Image.Image):
        img = Image.fromarray(np.ascontiguousarray(img), "RGB")
    buf = _io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as dec:
        return np.asarray(dec.convert("RGB"), dtype=np.uint8).copy()


def render(image: np.ndarray | Image.Image, params: PatchParams, spec: PatchSpec, *,
           jpeg: bool = True) -> np.ndarray:
    """All patches of `params`: uint8 (N, P, P, 3)."""
    img = to_pil(image)
    out = np.empty((len(params), spec.size, spec.size, 3), dtype=np.uint8)
    for k in range(len(params)):
        out[k] = render_one(img, params.row(k), spec, jpeg=jpeg)
    return out
