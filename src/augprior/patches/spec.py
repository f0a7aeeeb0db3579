"""The patch specification: what the official generator does, as one frozen record."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..options import PatchOptions

_OPTION = {name: f.default for name, f in PatchOptions.model_fields.items()}  # params.yaml's patches: block

class PatchError(ValueError):
    """A patch specification or a source image that cannot produce the requested patches."""


@dataclass(frozen=True)
class PatchSpec:
    """Parameters of the official single-image patch generator (defaults = the released code; size,
    vflip and jpeg_quality are params.yaml's options, declared in augprior.options.PatchOptions).

    Order of operations (github.com/yukimasano/single-img-extrapolating,
    data_generation/make_single_img_dataset.py):

    1. random square crop of side ``int(init_crop * min(H, W))``
    2. random resized crop to ``int(sqrt(2) * size)`` px, area ``scale``, aspect ``ratio``,
       bicubic; the released sampler retries until a box fits (``rrc_max_tries=None``);
       an integer gives torchvision's stock behaviour (that many tries, then a centre crop)
    3. random affine: rotation in (-degrees, degrees), x-shear in (-shear, shear)
       (torchvision's meaning of a scalar shear), bilinear, black fill
    4. vertical flip with p = 0.5 if ``vflip`` (off in the released generator)
    5. centre crop to ``size``
    6. colour jitter (brightness, contrast, saturation, hue) = ``jitter``, in torchvision's
       random order, applied with probability ``jitter_p``
    7. JPEG round trip at ``jpeg_quality`` (None: no JPEG); the official patches were JPEG q75.
    """

    size: int = _OPTION["size"]
    init_crop: float = 0.5
    scale: tuple[float, float] = (1.0 / 500.0, 1.0)
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)
    degrees: float = 30.0
    shear: float = 30.0
    vflip: bool = _OPTION["vflip"]
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)
    jitter_p: float = 0.5
    jpeg_quality: int | None = _OPTION["jpeg_quality"]
    rrc_max_tries: int | None = None

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        set_("scale", tuple(float(x) for x in self.scale))
        set_("ratio", tuple(float(x) for x in self.ratio))
        set_("jitter", tuple(float(x) for x in self.jitter))
        if isinstance(self.size, bool) or int(self.size) != self.size or self.size < 1:
            raise PatchError(f"patch size must be a positive integer, not {self.size!r}")
        set_("size", int(self.size))
        if not 0.0 < self.init_crop <= 1.0:
            raise PatchError(f"init_crop must be in (0, 1], not {self.init_crop}")
        if len(self.scale) != 2 or not 0.0 < self.scale[0] <= self.scale[1] <= 1.0:
            raise PatchError(f"scale must be (lo, hi) with 0 < lo <= hi <= 1, not {self.scale}")
        if len(self.ratio) != 2 or not 0.0 < self.ratio[0] <= self.ratio[1]:
            raise PatchError(f"ratio must be (lo, hi) with 0 < lo <= hi, not {self.ratio}")
        if not (0.0 <= self.degrees <= 180.0 and 0.0 <= self.shear < 90.0):
            raise PatchError(f"degrees must be in [0, 180] and shear in [0, 90), not {self.degrees}, {self.shear}")
        b, c, s, h = self.jitter
        if len(self.jitter) != 4 or min(b, c, s) < 0 or not 0.0 <= h <= 0.5:
            raise PatchError(f"jitter must be (brightness, contrast, saturation >= 0, hue in [0, 0.5]), not {self.jitter}")
        if not 0.0 <= self.jitter_p <= 1.0:
            raise PatchError(f"jitter_p must be a probability, not {self.jitter_p}")
        if self.jpeg_quality is not None:
            if isinstance(self.jpeg_quality, bool) or int(self.jpeg_quality) != self.jpeg_quality \
                    or not 1 <= self.jpeg_quality <= 100:
                raise PatchError(f"jpeg_quality must be an integer in [1, 100] or None, not {self.jpeg_quality!r}")
            set_("jpeg_quality", int(self.jpeg_quality))
        if self.rrc_max_tries is not None and int(self.rrc_max_tries) < 1:
            raise PatchError(f"rrc_max_tries must be None (retry until a box fits) or >= 1, not {self.rrc_max_tries}")
        set_("vflip", bool(self.vflip))

    # -- derived sizes -------------------------------------------------------------------
    @property
    def resized(self) -> int:
        """Side of the random-resized crop: int(sqrt(2) * size), as the official code."""
        return int(math.sqrt(2) * self.size)

    @property
    def center_offset(self) -> int:
        """Offset of torchvision's CenterCrop inside the resized crop (Python's round, as torchvision)."""
        return int(round((self.resized - self.size) / 2.0))

    def crop_side(self, height: int, width: int) -> int:
        """Side of the first, square random crop (official: int(initcrop * min(img.size)))."""
        return int(self.init_crop * min(height, width))

    def min_source_side(self) -> int:
        """Smallest shorter side an image must have for this spec.

        Rule: the first square crop must be at least `size` pixels, so that the largest
        resized crop (scale 1) enlarges the image by at most sqrt(2) x: with side s >= size,
        the final centre crop shows s / sqrt(2) source pixels on `size` output pixels.
        For the defaults that is min(H, W) >= 2 * size (64 px for CIFAR patches, 512 px for 256).
        """
        m = math.ceil(self.size / self.init_crop)
        while int(self.init_crop * m) < self.size:
            m += 1
        while m > 1 and int(self.init_crop * (m - 1)) >= self.size:
            m -= 1
        return m

    def check_source(self, height: int, width: int, name: str = "source image") -> None:
        side = self.crop_side(height, width)
        if side < self.size:
            raise PatchError(
                f"{name}: {width}x{height} px is too small for {self.size}-px patches: the first "
                f"square crop would be int({self.init_crop} * {min(height, width)}) = {side} px < {self.size}; "
                f"the shorter side must be at least {self.min_source_side()} px")

    # -- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("scale", "ratio", "jitter"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PatchSpec":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise PatchError(f"unknown PatchSpec keys: {', '.join(sorted(unknown))}")
        return cls(**d)
