"""Source images: the paper's named images, generated noise, library images, a user's file or URL.

Names understood by `load_source` / `load_source_image`:

- the paper's images from the manifest: city, animals, animals_large, bridge, universe, noise
  (also as "paper:city" ...); files resolve cache -> mirror -> download, md5-checked;
- images that ship inside installed libraries, readable offline (`pool_images()` lists the
  ones present): "skimage:coffee", "sklearn:china", "matplotlib:grace_hopper", ...
  scipy ships none offline (scipy.misc.face is gone, scipy.datasets downloads through pooch);
- a file path (optional md5 check), or an http(s):// or file:// URL, which needs an md5 and is
  downloaded through augprior.manifest.download into $AUGPRIOR_CACHE/downloads/images/.

Every image is returned as RGB uint8 (H, W, 3), decoded like the official generator does
(`Image.open(path).convert('RGB')`: alpha is dropped, grayscale and palettes become RGB);
16-bit grayscale is scaled to 8 bits.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import manifest

# library images: name -> (package, file name relative to the package's data folder, description)
_LIBRARY: dict[str, tuple[str, str, str]] = {
    "skimage:astronaut": ("skimage", "astronaut.png", "astronaut Eileen Collins, 512x512 RGB"),
    "skimage:brick": ("skimage", "brick.png", "brick wall texture, 512x512 gray"),
    "skimage:camera": ("skimage", "camera.png", "cameraman, 512x512 gray"),
    "skimage:cell": ("skimage", "cell.png", "cell microscopy, 660x550 gray"),
    "skimage:chelsea": ("skimage", "chelsea.png", "Chelsea the cat, 451x300 RGB"),
    "skimage:clock": ("skimage", "clock_motion.png", "motion-blurred clock, 400x300 gray"),
    "skimage:coffee": ("skimage", "coffee.png", "coffee cup, 600x400 RGB"),
    "skimage:coins": ("skimage", "coins.png", "Greek coins, 384x303 gray"),
    "skimage:colorwheel": ("skimage", "color.png", "colour wheel, 371x370 RGB"),
    "skimage:grass": ("skimage", "grass.png", "grass texture, 512x512 gray"),
    "skimage:gravel": ("skimage", "gravel.png", "gravel texture, 512x512 gray"),
    "skimage:horse": ("skimage", "horse.png", "horse silhouette, 400x328 RGBA"),
    "skimage:hubble_deep_field": ("skimage", "hubble_deep_field.jpg", "Hubble deep field, 1000x872 RGB"),
    "skimage:immunohistochemistry": ("skimage", "ihc.png", "immunohistochemistry stain, 512x512 RGB"),
    "skimage:logo": ("skimage", "logo.png", "scikit-image logo, 500x500 RGBA"),
    "skimage:microaneurysms": ("skimage", "microaneurysms.png", "retina detail, 102x102 gray"),
    "skimage:moon": ("skimage", "moon.png", "lunar surface, 512x512 gray"),
    "skimage:motorcycle": ("skimage", "motorcycle_left.png", "motorcycle (stereo left), 741x500 RGB"),
    "skimage:page": ("skimage", "page.png", "scanned page, 384x191 gray"),
    "skimage:retina": ("skimage", "retina.jpg", "human retina, 1411x1411 RGB"),
    "skimage:rocket": ("skimage", "rocket.jpg", "rocket launch, 640x427 RGB"),
    "skimage:text": ("skimage", "text.png", "text on a photo, 448x172 gray"),
    "sklearn:china": ("sklearn", "china.jpg", "Chinese temple, 640x427 RGB"),
    "sklearn:flower": ("sklearn", "flower.jpg", "flower, 640x427 RGB"),
    "matplotlib:grace_hopper": ("matplotlib", "grace_hopper.jpg", "Grace Hopper portrait, 512x600 RGB"),
    "matplotlib:minduka": ("matplotlib", "Minduka_Present_Blue_Pack.png", "gift icon, 128x128 RGBA"),
    "matplotlib:logo2": ("matplotlib", "logo2.png", "matplotlib logo, 542x130 RGBA"),
}


@dataclass
class SourceImage:
    """Decoded pixels plus where they came from (what a patch set's metadata records)."""

    pixels: np.ndarray = field(repr=False)   # RGB uint8 (H, W, 3)
    name: str                                # the name, path or URL it was asked for by
    path: str | None                         # the file that was read (None: generated)
    md5: str                                 # md5 of that file, or of the pixels if generated
    md5_of: str                              # "file" or "pixels"

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "md5": self.md5, "md5_of": self.md5_of,
                "height": self.height, "width": self.width}


def _package_dir(package: str) -> Path:
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent
    if package == "sklearn":
        import sklearn.datasets

        return Path(sklearn.datasets.__file__).parent / "images"
    if package == "matplotlib":
        import matplotlib

        return Path(matplotlib.get_data_path()) / "sample_data"
    raise manifest.DataError(f"unknown image library {package!r}")


def library_image_path(name: str) -> Path:
    """File behind a library image name such as 'skimage:coffee'."""
    if name not in _LIBRARY:
        raise manifest.DataError(f"unknown library image {name!r}; known: {', '.join(sorted(_LIBRARY))}")
    package, fname, _ = _LIBRARY[name]
    try:
        path = _package_dir(package) / fname
    except ImportError as err:
        raise manifest.DataError(f"{name}: the package {package} is not installed ({err})") from err
    if not path.is_file():
        raise manifest.DataError(f"{name}: {path} is not shipped by the installed {package} version")
    return path


def pool_images(*, include_paper: bool = False, min_side: int | None = None,
                mirror: str | os.PathLike | None = None) -> list[str]:
    """Names of the offline library images present here (for the paper's Fig 2 sweep).

    `include_paper` adds the manifest's paper images (these may need the mirror);
    `min_side` keeps only images whose shorter side is at least that many pixels
    (e.g. PatchSpec(size=32).min_source_side()).
    """
    names = []
    for name in sorted(_LIBRARY):
        try:
            library_image_path(name)
        except manifest.DataError:
            continue
        names.append(name)
    if include_paper:
        names = manifest.image_names() + names
    if min_side is not None:
        names = [n for n in names if min(image_size(n, mirror=mirror)) >= min_side]
    return names


def pool_image_info() -> dict[str, str]:
    """Description of every known library image (present or not)."""
    return {name: desc for name, (_, _, desc) in sorted(_LIBRARY.items())}


def image_size(name_or_path: str, *, mirror: str | os.PathLike | None = None) -> tuple[int, int]:
    """(height, width) without decoding the pixels where a file header suffices."""
    key = name_or_path.removeprefix("paper:")
    if key in manifest.manifest()["images"]:
        entry = manifest.image_entry(key)
        if "generated" in entry:
            return int(entry["generated"]["height"]), int(entry["generated"]["width"])
        if "file" not in entry:
            return load_source(key, mirror=mirror).pixels.shape[:2]
        path = manifest.resolve_image_file(key, mirror)
    elif name_or_path in _LIBRARY:
        path = library_image_path(name_or_path)
    else:
        path = Path(name_or_path).expanduser()
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise manifest.DataError(f"{path}: not a readable image ({err})") from err


def is_url(name: str) -> bool:
    return urlparse(name).scheme in ("http", "https", "file", "ftp")


def user_image_path(name: str) -> Path | None:
    """The file behind a source name that is a user's path (what `load_source` would read as a file),
    None for the manifest's images, library images and URLs (their content is fixed by an md5)."""
    key = name.removeprefix("paper:")
    if key in manifest.manifest()["images"] or name in _LIBRARY or is_url(name):
        return None
    if ":" in name and name.split(":", 1)[0] in ("skimage", "sklearn", "matplotlib", "scipy"):
        return None
    return Path(name).expanduser()


def load_source(name_or_path: str | os.PathLike, *, md5: str | None = None,
                mirror: str | os.PathLike | None = None) -> SourceImage:
    """Resolve and decode a source image; see the module docstring for the names understood."""
    name = str(name_or_path)
    key = name.removeprefix("paper:")
    if key in manifest.manifest()["images"]:
        return _load_named(key, mirror, md5)
    if name in _LIBRARY:
        path = library_image_path(name)
        return _from_file(name, path, md5)
    if ":" in name and name.split(":", 1)[0] in ("skimage", "sklearn", "matplotlib", "scipy"):
        raise manifest.DataError(f"unknown library image {name!r}; offline ones here: {', '.join(pool_images())}")
    if is_url(name):
        if not md5:
            raise manifest.DataError(f"{name}: a URL needs an md5 (--md5) so that the download can be checked")
        base = os.path.basename(urlparse(name).path) or "image"
        dest = manifest.cache_dir() / "downloads" / "images" / f"{md5}-{base}"
        if not (dest.is_file() and manifest.md5sum(dest) == md5):
            try:
                manifest.download(name, dest, md5)
            except OSError as err:
                raise manifest.DataError(f"cannot download {name}: {err}") from err
        return _from_file(name, dest, md5)
    path = Path(name).expanduser()
    if not path.is_file():
        raise manifest.DataError(
            f"source image {name!r} is neither a known name ({', '.join(manifest.image_names())}, "
            f"or a library image such as skimage:coffee) nor an existing file")
    return _from_file(name, path, md5)


def load_source_image(name_or_path: str | os.PathLike, *, md5: str | None = None,
                      mirror: str | os.PathLike | None = None) -> np.ndarray:
    """Return the image as an RGB uint8 array of shape (H, W, 3) (see `load_source`)."""
    return load_source(name_or_path, md5=md5, mirror=mirror).pixels


def _from_file(name: str, path: Path, md5: str | None) -> SourceImage:
    got = manifest.md5sum(path)
    if md5 is not None and got != md5:
        raise manifest.DataError(f"{path}: md5 {got} does not match the expected {md5}")
    return SourceImage(read_rgb(path), name, str(path), got, "file")


def _load_named(name: str, mirror: str | os.PathLike | None, md5: str | None = None) -> SourceImage:
    entry = manifest.image_entry(name)
    if "file" in entry:
        path = manifest.resolve_image_file(name, mirror)
        if md5 is not None and md5 != entry["file"]["md5"]:
            raise manifest.DataError(f"{name}: the manifest's md5 is {entry['file']['md5']}, not {md5}")
        return SourceImage(read_rgb(path), name, str(path), entry["file"]["md5"], "file")
    if entry.get("builtin") == "skimage.data.hubble_deep_field":
        src = _from_file("skimage:hubble_deep_field", library_image_path("skimage:hubble_deep_field"), md5)
        src.name = name
        return src
    if "generated" in entry:
        g = entry["generated"]
        if g.get("kind", "uniform_noise") != "uniform_noise":
            raise manifest.DataError(f"image {name!r}: unknown generated kind {g.get('kind')!r}")
        rng = np.random.default_rng(g["seed"])
        pixels = rng.integers(0, 256, size=(g["height"], g["width"], 3), dtype=np.uint8)
        digest = hashlib.md5(pixels.tobytes()).hexdigest()
        if md5 is not None and md5 != digest:
            raise manifest.DataError(f"{name}: generated pixels have md5 {digest}, not {md5}")
        return SourceImage(pixels, name, None, digest, "pixels")
    raise manifest.DataError(f"manifest entry for image {name!r} has no file, builtin or generated key")


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to RGB uint8 the way the official generator does (convert('RGB')).

    Alpha is dropped (not composited), palettes and grayscale become RGB, 16-bit and
    32-bit grayscale are scaled to 8 bits. A corrupt or unreadable file is a DataError naming it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                    arr = np.asarray(img).astype(np.float64)
                    top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
                    return to_rgb(np.clip(np.round(arr * (255.0 / top)), 0, 255).astype(np.uint8))
                if img.mode == "F":
                    return to_rgb(np.asarray(img))
                return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as err:
        raise manifest.DataError(f"{path}: not a readable image ({type(err).__name__}: {err})") from err


def to_rgb(arr: np.ndarray) -> np.ndarray:
    """An array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of any numeric dtype -> RGB uint8."""
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        if arr.size and arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise manifest.DataError(f"cannot convert an array of shape {arr.shape} to RGB")
    return np.ascontiguousarray(arr)
