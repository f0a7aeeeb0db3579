"""Labelled image datasets as uint8 tensors (N, C, H, W); normalisation happens on the batch.

Decoded arrays are cached under the cache folder, keyed by the source archive's md5, so the
expensive decode (60K JPEGs) runs once per machine.

`imagefolder:/path/to/root` datasets (224-px work, a user's own data) are decoded lazily and
loaded in batches (`load_batch`, `iter_batches`), so folders far larger than memory work too.
"""

from __future__ import annotations

import copy

import gzip
import hashlib
import io as _io
import os
import pickle
import tarfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import fileio, manifest
from .registry import Registry, UnknownName

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_MNIST_CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                         "sneaker", "bag", "ankle boot"]

IMAGENET_NORMALIZATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
IMAGEFOLDER_PREFIX = "imagefolder:"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


class UnknownDataset(UnknownName, manifest.DataError):
    """A dataset name no loader is registered for."""


# name -> loader(name, files, split) -> (images, labels, classes); meta `label`: the name printed in tables.
# Loaders register themselves below, where they are defined.
DATASETS: Registry = Registry("dataset", error=UnknownDataset)


class _Normalization(dict):
    """Dataset name -> (mean, std); image folders get the ImageNet statistics."""

    def __missing__(self, name: str):
        if isinstance(name, str) and name.startswith(IMAGEFOLDER_PREFIX):
            return IMAGENET_NORMALIZATION
        raise KeyError(name)


# Per-channel mean/std in [0, 1] used to normalise batches (official CIFAR-10 statistics are used
# for CIFAR-10 (JPEG) too: its train mean equals the official one).
NORMALIZATION = _Normalization({
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar10_jpeg": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "photos": IMAGENET_NORMALIZATION,  # ImageNet models' evaluation set
})


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) in [0, 1] for dataset `name` (ImageNet statistics for image folders)."""
    try:
        return NORMALIZATION[name]
    except KeyError:
        raise manifest.DataError(f"no normalisation statistics for dataset {name!r}") from None


def label(name: str) -> str:
    """Human-readable dataset name for tables."""
    if name.startswith(IMAGEFOLDER_PREFIX):
        return Path(name[len(IMAGEFOLDER_PREFIX):]).name or name
    return DATASETS.meta(name).get("label", name) if name in DATASETS else name


def subset_indices(total: int, n: int) -> torch.Tensor:
    """Indices of a fixed, seeded sample of `n` of `total` items, in their original order.

    Datasets may be stored class by class (CIFAR-10 (JPEG), image folders), so "the first n" would
    hold one or two classes; this sample spreads over the whole set. Samples are nested: the
    sample of n items is part of the sample of any larger n.
    """
    if n >= total:
        return torch.arange(total)
    return torch.randperm(total, generator=torch.Generator().manual_seed(0))[:n].sort().values


class _Batched:
    """Batched access shared by in-memory and lazily decoded datasets."""

    labels: torch.Tensor

    def subset(self, n: int):
        """A fixed sample of `n` items spread over the whole dataset (`subset_indices`)."""
        return self.select(subset_indices(len(self), n))

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)  # type: ignore[attr-defined]

    def load_batch(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def iter_batches(self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
                     drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (uint8 images (B, C, H, W), int64 labels (B,)) over the dataset, once."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last else n
        for i in range(0, stop, batch_size):
            idx = order[i:i + batch_size]
            yield self.load_batch(idx), self.labels[idx]


@dataclass
class ImageDataset(_Batched):
    """A dataset held in memory as one uint8 tensor."""

    name: str
    split: str
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def load_batch(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        return self.images[torch.as_tensor(indices, dtype=torch.long)]

    def select(self, indices: torch.Tensor) -> "ImageDataset":
        return ImageDataset(self.name, self.split, self.images[indices], self.labels[indices], self.classes)


class ImageFolderDataset(_Batched):
    """`root/<split>/<class>/<image>`, decoded lazily to uint8 (C, size, size).

    Classes are the sorted sub-folder names of `root/train` (torchvision's ImageFolder
    convention), so train and test labels agree; the test split reads `root/test` or, when
    that is missing, `root/val`. Each image is resized so that its shorter side is `resize`
    (default: `size`, bilinear, antialiased) and centre-cropped to size x size. JPEGs are
    decoded at reduced resolution when they are much larger than needed (PIL draft mode).

    Large folders: `load_batch` / `iter_batches` decode only the requested images (with a
    thread pool). Small folders: `.images` decodes everything once and caches the array
    under the cache folder, keyed by the file list, sizes and mtimes.
    """

    max_materialize_bytes = 8 << 30

    def __init__(self, root: str | os.PathLike, split: str = "train", size: int = 224, *,
                 resize: int | None = None, channels: int = 3, workers: int | None = None):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise manifest.DataError(f"image folder {self.root}: no such directory (expected "
                                 f"{self.root}/train/<class>/* and {self.root}/test/<class>/* or val/)")
        if split not in ("train", "test", "val"):
            raise ValueError(f"split must be 'train', 'test' or 'val', not {split!r}")
        if size < 1 or (resize is not None and resize < size):
            raise ValueError(f"need size >= 1 and resize >= size, got size={size}, resize={resize}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
        self.name = f"{IMAGEFOLDER_PREFIX}{root}"
        self.split = split
        self.size, self.resize, self.channels = size, resize or size, channels
        self.workers = workers if workers is not None else min(8, os.cpu_count() or 1)
        train_dir = self.root / "train"
        self.classes = _class_dirs(train_dir)
        folder = train_dir
        if split != "train":
            candidates = ["test", "val"] if split == "test" else ["val"]
            folder = next((self.root / c for c in candidates if (self.root / c).is_dir()), self.root / candidates[0])
            if not folder.is_dir():
                raise manifest.DataError(f"image folder {self.root}: no {' or '.join(candidates)}/ split directory")
            extra = sorted(set(_class_dirs(folder)) - set(self.classes))
            if extra:
                raise manifest.DataError(f"image folder {folder}: classes {extra} are not in {train_dir}")
        self.folder = folder
        paths, labels = [], []
        for ci, cls in enumerate(self.classes):
            cdir = folder / cls
            if not cdir.is_dir():
                continue
            files = sorted(p for p in cdir.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            paths += files
            labels += [ci] * len(files)
        if not paths:
            raise manifest.DataError(f"image folder {folder}: no images ({', '.join(IMAGE_EXTENSIONS)}) "
                                 "in its class sub-folders")
        self.paths: list[Path] = paths
        self.labels = torch.tensor(labels, dtype=torch.long)
        self._images: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self._decode(self.paths[i])), int(self.labels[i])

    def select(self, indices: torch.Tensor) -> "ImageFolderDataset":
        out = copy.copy(self)
        out.paths = [self.paths[i] for i in indices.tolist()]
        out.labels = self.labels[indices]
        out._images = None if self._images is None else self._images[indices]
        return out

    def _decode(self, path: Path) -> np.ndarray:
        try:
            with Image.open(path) as img:
                if img.format == "JPEG":
                    w, h = img.size
                    scale = self.resize / min(w, h)
                    img.draft("RGB" if self.channels == 3 else "L", (int(w * scale) + 1, int(h * scale) + 1))
                img = img.convert("RGB" if self.channels == 3 else "L")
                w, h = img.size
                scale = self.resize / min(w, h)
                nw, nh = max(self.size, round(w * scale)), max(self.size, round(h * scale))
                if (nw, nh) != (w, h):
                    img = img.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
                left, top = (nw - self.size) // 2, (nh - self.size) // 2
                img = img.crop((left, top, left + self.size, top + self.size))
                arr = np.asarray(img, dtype=np.uint8)
        except (OSError, ValueError) as err:
            raise manifest.DataError(f"{path}: cannot decode image ({err})") from err
        return arr[None].copy() if arr.ndim == 2 else arr.transpose(2, 0, 1).copy()

    def load_batch(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        idx = [int(i) for i in torch.as_tensor(indices, dtype=torch.long).reshape(-1)]
        if self._images is not None:
            return self._images[idx]
        out = np.empty((len(idx), self.channels, self.size, self.size), dtype=np.uint8)

        def fill(j: int) -> None:
            out[j] = self._decode(self.paths[idx[j]])

        if self.workers > 1 and len(idx) > 1:
            with ThreadPoolExecutor(self.workers) as pool:
                list(pool.map(fill, range(len(idx))))
        else:
            for j in range(len(idx)):
                fill(j)
        return torch.from_numpy(out)

    def cache_key(self) -> str:
        h = hashlib.sha256(f"{self.size}/{self.resize}/{self.channels}".encode())
        for p, y in zip(self.paths, self.labels.tolist()):
            st = p.stat()
            h.update(f"{p.relative_to(self.root)}|{y}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    @property
    def images(self) -> torch.Tensor:
        """All images as one uint8 tensor (decoded once, cached on disk); for small folders only."""
        if self._images is None:
            nbytes = len(self) * self.channels * self.size * self.size
            if nbytes > self.max_materialize_bytes:
                raise MemoryError(f"image folder {self.folder}: {len(self)} images at {self.size} px need "
                                  f"{nbytes / 2**30:.1f} GiB; stream them with load_batch / iter_batches")
            cached = manifest.cache_dir() / "decoded" / f"imagefolder-{self.split}-{self.cache_key()}.npy"
            if cached.exists():
                arr = np.load(cached, allow_pickle=False)
            else:
                arr = self.load_batch(range(len(self))).numpy()
                with fileio.atomic_path(cached, suffix=".npy") as tmp:
                    np.save(tmp, arr)
            self._images = torch.from_numpy(arr)
        return self._images


def _class_dirs(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise manifest.DataError(f"image folder: {folder} is missing (expected <root>/train/<class>/*)")
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise manifest.DataError(f"image folder {folder}: no class sub-folders")
    return classes


def load_dataset(name: str, split: str, mirror: str | os.PathLike | None = None, *,
                 size: int | None = None) -> ImageDataset | ImageFolderDataset:
    """A labelled split of dataset `name`: cifar10, cifar100, cifar10_jpeg, fashion_mnist,
    or `imagefolder:/path/to/root` (then `size` sets the square side, default 224)."""
    entry = DATASETS.entry(name)
    if entry.meta.get("folder"):
        return entry.obj(entry.args["root"], split, size or 224)
    if entry.meta.get("sized"):
        return entry.obj(split, size or 224)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if size is not None:
        raise ValueError(f"dataset {name!r} has a fixed image size; `size` applies to imagefolder: datasets only")
    loader = entry.obj
    files = manifest.resolve_dataset(name, mirror)
    key = "-".join(manifest.md5sum(p)[:8] for p in files.values())
    cached = manifest.cache_dir() / "decoded" / f"{name}-{split}-{key}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as z:
            images, labels, classes = z["images"], z["labels"], [str(c) for c in z["classes"]]
    else:
        images, labels, classes = loader(name, files, split)
        with fileio.atomic_path(cached, suffix=".npz") as tmp:
            np.savez(tmp, images=images, labels=labels, classes=np.array(classes))
    return ImageDataset(name, split, torch.from_numpy(images), torch.from_numpy(labels).long(), classes)


@DATASETS.register("cifar100", label="CIFAR-100")
@DATASETS.register("cifar10", label="CIFAR-10")
def _cifar_python(name: str, files: dict[str, Path], split: str):
    """The official python-pickle archives (cifar-10-python.tar.gz, cifar-100-python.tar.gz)."""
    (archive,) = files.values()
    if name == "cifar10":
        members = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        meta_name, label_key, names_key = "batches.meta", b"labels", b"label_names"
    else:
        members = ["train"] if split == "train" else ["test"]
        meta_name, label_key, names_key = "meta", b"fine_labels", b"fine_label_names"
    with tarfile.open(archive, "r:gz") as tar:
        by_base = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        batches = [pickle.load(tar.extractfile(by_base[m]), encoding="bytes") for m in members]
        meta = pickle.load(tar.extractfile(by_base[meta_name]), encoding="bytes")
    images = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32).astype(np.uint8)
    labels = np.concatenate([np.asarray(b[label_key]) for b in batches]).astype(np.int64)
    classes = [c.decode() for c in meta[names_key]]
    return images, labels, classes


@DATASETS.register("cifar10_jpeg", label="CIFAR-10 (JPEG)")
def _cifar10_jpeg(name: str, files: dict[str, Path], split: str):
    """`train/<class>/NNNN.jpg`, `test/<class>/NNNN.jpg`; ordered by class, then file number."""
    (archive,) = files.values()
    found: list[tuple[int, str, bytes]] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and len(parts) == 3 and parts[0] == split and parts[2].endswith(".jpg"):
                found.append((CIFAR10_CLASSES.index(parts[1]), parts[2], tar.extractfile(member).read()))
    if not found:
        raise manifest.DataError(f"{archive}: no {split}/<class>/*.jpg files inside")
    found.sort(key=lambda t: (t[0], t[1]))
    images = np.stack([np.asarray(Image.open(_io.BytesIO(b)).convert("RGB")) for _, _, b in found])
    labels = np.array([c for c, _, _ in found], dtype=np.int64)
    return images.transpose(0, 3, 1, 2).copy(), labels, CIFAR10_CLASSES


@DATASETS.register("fashion_mnist", label="Fashion-MNIST")
def _fashion_mnist(name: str, files: dict[str, Path], split: str):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"])
    labels = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"]).astype(np.int64)
    return images[:, None, :, :].copy(), labels, FASHION_MNIST_CLASSES


DATASETS.add(f"{IMAGEFOLDER_PREFIX}/path/to/root", ImageFolderDataset, pattern=rf"{IMAGEFOLDER_PREFIX}(?P<root>.+)",
             folder=True)


UNLABELLED = -1  # the label of every image of an unlabelled evaluation set (accuracy is then None)


def imagenet_classes() -> list[str]:
    """ImageNet-1k's 1000 class descriptions in index order (timm's copy of the synset list)."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_description(i) for i in range(info.num_classes())]


def _photos(split: str, size: int) -> ImageDataset:
    """Real photographs for ImageNet models, unlabelled (augprior.photos). Both splits are the same photos:
    a teacher job only exports a pretrained model on it (training on it is refused), students are measured
    by their top-1 agreement with the teacher, never trained on it."""
    from . import photos

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    images, found, md5 = photos.load_photos(size)
    ds = ImageDataset("photos", split, torch.from_numpy(images), torch.full((len(found),), UNLABELLED),
                      imagenet_classes())
    ds.names, ds.md5 = [p.name for p in found], md5  # type: ignore[attr-defined]
    return ds


DATASETS.add("photos", _photos, sized=True, label="real photographs (unlabelled)")


def takes_size(name: str) -> bool:
    """Whether dataset `name` is read at a chosen side (image folders, the photos): `load_dataset(size=)`."""
    meta = DATASETS.meta(name) if name in DATASETS else {}
    return bool(meta.get("folder") or meta.get("sized"))


def is_unlabelled(labels: torch.Tensor) -> bool:
    return bool(len(labels)) and bool((labels == UNLABELLED).all())


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file: magic 0x00 0x00 dtype ndim, big-endian dims, then data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise manifest.DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    arr = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise manifest.DataError(f"{path}: expected {int(np.prod(dims))} values, found {arr.size}")
    return arr.reshape(dims)


# audio datasets register themselves in DATASETS (augprior.audio.data)
from .audio import data as _audio_data  # noqa: E402,F401
