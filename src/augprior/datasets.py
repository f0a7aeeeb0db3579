"""Labelled image datasets as uint8 tensors (N, C, H, W); normalisation happens on the batch.

Decoded arrays are cached under the cache folder, keyed by the source archive's md5, so the
expensive decode (60K JPEGs) runs once per machine.
"""

from __future__ import annotations

import gzip
import io as _io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import data, io

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FASHION_MNIST_CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                         "sneaker", "bag", "ankle boot"]

# Per-channel mean/std in [0, 1] used to normalise batches (official CIFAR-10 statistics are used
# for CIFAR-10 (JPEG) too: its train mean equals the official one).
NORMALIZATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar10_jpeg": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
}
LABELS = {
    "cifar10": "CIFAR-10",
    "cifar10_jpeg": "CIFAR-10 (JPEG)",
    "cifar100": "CIFAR-100",
    "fashion_mnist": "Fashion-MNIST",
}


@dataclass
class ImageDataset:
    name: str
    split: str
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)
    classes: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)


def load_dataset(name: str, split: str, mirror: str | os.PathLike | None = None) -> ImageDataset:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    loaders = {"cifar10": _cifar_python, "cifar100": _cifar_python, "cifar10_jpeg": _cifar10_jpeg,
               "fashion_mnist": _fashion_mnist}
    if name not in loaders:
        raise data.DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(loaders))}")
    files = data.resolve_dataset(name, mirror)
    key = "-".join(data.md5sum(p)[:8] for p in files.values())
    cached = data.cache_dir() / "decoded" / f"{name}-{split}-{key}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as z:
            images, labels, classes = z["images"], z["labels"], [str(c) for c in z["classes"]]
    else:
        images, labels, classes = loaders[name](name, files, split)
        with io.atomic_path(cached, suffix=".npz") as tmp:
            np.savez(tmp, images=images, labels=labels, classes=np.array(classes))
    return ImageDataset(name, split, torch.from_numpy(images), torch.from_numpy(labels).long(), classes)


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
        raise data.DataError(f"{archive}: no {split}/<class>/*.jpg files inside")
    found.sort(key=lambda t: (t[0], t[1]))
    images = np.stack([np.asarray(Image.open(_io.BytesIO(b)).convert("RGB")) for _, _, b in found])
    labels = np.array([c for c, _, _ in found], dtype=np.int64)
    return images.transpose(0, 3, 1, 2).copy(), labels, CIFAR10_CLASSES


def _fashion_mnist(name: str, files: dict[str, Path], split: str):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"])
    labels = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"]).astype(np.int64)
    return images[:, None, :, :].copy(), labels, FASHION_MNIST_CLASSES


def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file: magic 0x00 0x00 dtype ndim, big-endian dims, then data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise data.DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    arr = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise data.DataError(f"{path}: expected {int(np.prod(dims))} values, found {arr.size}")
    return arr.reshape(dims)
