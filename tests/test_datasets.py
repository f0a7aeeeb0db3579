"""Dataset loaders on tiny files in the real formats (official CIFAR pickles, IDX, image folders),
plus the real CIFAR-10 (JPEG) from the offline mirror when AUGPRIOR_MIRROR is set."""

from __future__ import annotations

import copy
import gzip
import io as _io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import datasets, manifest
from augprior.datasets import CIFAR10_CLASSES, ImageFolderDataset, load_dataset, normalization, read_idx


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder and no mirror from the environment."""
    monkeypatch.setenv(manifest.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(manifest.MIRROR_ENV, raising=False)
    return tmp_path / "cache"


def patch_manifest(monkeypatch, dataset: str, md5_by_name: dict[str, str]) -> None:
    """Point the manifest's checksums for `dataset` at the tiny files a test made."""
    patched = copy.deepcopy(manifest.manifest())
    for entry in patched["datasets"][dataset]["files"]:
        entry["md5"] = md5_by_name[entry["name"]]
    monkeypatch.setattr(manifest, "manifest", lambda: patched)


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, _io.BytesIO(payload))


def make_cifar10_archive(path: Path, per_batch: int, rng: np.random.Generator) -> dict[str, dict]:
    """cifar-10-python.tar.gz as published: python-2 style pickles with byte-string keys."""
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            d = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, per_batch).tolist(),
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"filenames": [f"img_{i}.png".encode() for i in range(per_batch)]}
            batches[name] = d
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(d, protocol=2))
        meta = {b"num_cases_per_batch": per_batch, b"label_names": [c.encode() for c in CIFAR10_CLASSES],
                b"num_vis": 3072}
        _add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
        _add(tar, "cifar-10-batches-py/readme.html", b"<html></html>")
    return batches


def make_cifar100_archive(path: Path, n_train: int, n_test: int, rng: np.random.Generator) -> dict[str, dict]:
    splits = {}
    fine_names = [f"fine_{i:02d}".encode() for i in range(100)]
    with tarfile.open(path, "w:gz") as tar:
        for name, n in (("train", n_train), ("test", n_test)):
            d = {b"filenames": [f"{i}.png".encode() for i in range(n)], b"batch_label": name.encode(),
                 b"fine_labels": rng.integers(0, 100, n).tolist(), b"coarse_labels": rng.integers(0, 20, n).tolist(),
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
            splits[name] = d
            _add(tar, f"cifar-100-python/{name}", pickle.dumps(d, protocol=2))
        meta = {b"fine_label_names": fine_names, b"coarse_label_names": [f"c{i}".encode() for i in range(20)]}
        _add(tar, "cifar-100-python/meta", pickle.dumps(meta, protocol=2))
    return splits


def test_cifar10_official_archive_from_mirror(cache, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    (mirror / "data").mkdir(parents=True)
    archive = mirror / "data" / "cifar-10-python.tar.gz"
    batches = make_cifar10_archive(archive, per_batch=6, rng=rng)
    patch_manifest(monkeypatch, "cifar10", {"cifar-10-python.tar.gz": manifest.md5sum(archive)})

    train = load_dataset("cifar10", "train", mirror=mirror)
    test = load_dataset("cifar10", "test", mirror=mirror)
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.images.shape == (6, 3, 32, 32) and train.labels.dtype == torch.int64
    assert train.classes == CIFAR10_CLASSES and train.num_classes == 10
    expected_labels = sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    assert train.labels.tolist() == expected_labels
    assert test.labels.tolist() == batches["test_batch"][b"labels"]
    # row layout of the official format: 1024 red, then 1024 green, then 1024 blue values, row-major
    raw = batches["data_batch_2"][b"data"][4]
    img = train.images[6 + 4].numpy()
    for c, y, x in [(0, 0, 0), (1, 5, 7), (2, 31, 30), (0, 17, 3)]:
        assert img[c, y, x] == raw[c * 1024 + y * 32 + x]
    # the decoded array is cached, keyed by the archive's md5
    cached = sorted(p.name for p in (cache / "decoded").iterdir())
    assert len(cached) == 2 and all(p.startswith("cifar10-") for p in cached)
    again = load_dataset("cifar10", "train", mirror=mirror)
    assert torch.equal(again.images, train.images) and again.classes == train.classes


def test_cifar10_archive_in_cache_downloads_needs_no_mirror(cache, tmp_path, monkeypatch):
    downloads = cache / "downloads"
    downloads.mkdir(parents=True)
    make_cifar10_archive(downloads / "cifar-10-python.tar.gz", per_batch=2, rng=np.random.default_rng(1))
    patch_manifest(monkeypatch, "cifar10", {"cifar-10-python.tar.gz": manifest.md5sum(downloads / "cifar-10-python.tar.gz")})
    monkeypatch.setattr(manifest, "download", lambda *a, **k: pytest.fail("must not download"))
    assert len(load_dataset("cifar10", "test")) == 2


def test_corrupt_mirror_file_is_reported(cache, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "data").mkdir(parents=True)
    make_cifar10_archive(mirror / "data" / "cifar-10-python.tar.gz", per_batch=2, rng=np.random.default_rng(2))
    patch_manifest(monkeypatch, "cifar10", {"cifar-10-python.tar.gz": "0" * 32})
    with pytest.raises(manifest.DataError, match="does not match the manifest"):
        load_dataset("cifar10", "train", mirror=mirror)


def test_cifar100_official_archive(cache, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    mirror = tmp_path / "mirror"
    (mirror / "data").mkdir(parents=True)
    archive = mirror / "data" / "cifar-100-python.tar.gz"
    splits = make_cifar100_archive(archive, n_train=40, n_test=12, rng=rng)
    patch_manifest(monkeypatch, "cifar100", {"cifar-100-python.tar.gz": manifest.md5sum(archive)})
    train = load_dataset("cifar100", "train", mirror=mirror)
    test = load_dataset("cifar100", "test", mirror=mirror)
    assert train.images.shape == (40, 3, 32, 32) and test.images.shape == (12, 3, 32, 32)
    assert train.num_classes == 100 and train.classes[7] == "fine_07"
    assert train.labels.tolist() == splits["train"][b"fine_labels"]  # fine, not coarse labels
    raw = splits["test"][b"data"][11]
    assert test.images[11, 1, 2, 3] == raw[1024 + 2 * 32 + 3]
    assert normalization("cifar100")[0][0] == pytest.approx(0.5071)


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_fashion_mnist_idx(cache, tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    folder = tmp_path / "mirror" / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (9, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 9),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4)}
    for name, arr in arrays.items():
        (folder / name).write_bytes(gzip.compress(_idx_bytes(arr)))
    patch_manifest(monkeypatch, "fashion_mnist", {n: manifest.md5sum(folder / n) for n in arrays})
    train = load_dataset("fashion_mnist", "train", mirror=tmp_path / "mirror")
    test = load_dataset("fashion_mnist", "test", mirror=tmp_path / "mirror")
    assert train.images.shape == (9, 1, 28, 28) and test.images.shape == (4, 1, 28, 28)
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train-images-idx3-ubyte.gz"])
    assert test.labels.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    assert train.classes[9] == "ankle boot"


def test_read_idx_rejects_bad_files(tmp_path):
    bad_magic = tmp_path / "bad.idx"
    bad_magic.write_bytes(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 2) + b"\0" * 8)
    with pytest.raises(manifest.DataError, match="not an unsigned-byte IDX"):
        read_idx(bad_magic)
    short = tmp_path / "short.idx"
    short.write_bytes(_idx_bytes(np.zeros((3, 2, 2)))[:-1])
    with pytest.raises(manifest.DataError, match="expected 12 values, found 11"):
        read_idx(short)


def test_unknown_dataset_and_split():
    with pytest.raises(manifest.DataError, match="unknown dataset 'cifar11'"):
        load_dataset("cifar11", "train")
    with pytest.raises(ValueError, match="split"):
        load_dataset("cifar10", "validation")


# ------------------------------------------------------------------ image folders

def _save(path: Path, img: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def make_folder(root: Path, test_dir: str = "test") -> None:
    # 40x20 (w x h): left quarter red, middle half green, right quarter blue
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:30] = (0, 255, 0)
    wide[:, 30:] = (0, 0, 255)
    _save(root / "train" / "dog" / "a.png", Image.fromarray(wide))
    _save(root / "train" / "dog" / "b.jpg", Image.new("RGB", (800, 600), (200, 40, 40)))  # large JPEG: draft path
    _save(root / "train" / "cat" / "x.png", Image.new("RGBA", (20, 20), (10, 20, 30, 128)))
    _save(root / "train" / "cat" / "y.JPEG", Image.new("L", (30, 60), 90))  # grayscale, tall
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    _save(root / "train" / "empty_class" / "z.png", Image.new("RGB", (25, 25), (0, 0, 0)))
    _save(root / test_dir / "dog" / "t1.png", Image.new("RGB", (20, 20), (1, 2, 3)))
    _save(root / test_dir / "cat" / "t2.png", Image.new("RGB", (20, 20), (4, 5, 6)))


def test_imagefolder_train_split(cache, tmp_path):
    make_folder(tmp_path / "root")
    ds = load_dataset(f"imagefolder:{tmp_path / 'root'}", "train", size=20)
    assert isinstance(ds, ImageFolderDataset)
    assert ds.classes == ["cat", "dog", "empty_class"] and ds.num_classes == 3
    assert [p.name for p in ds.paths] == ["x.png", "y.JPEG", "a.png", "b.jpg", "z.png"]
    assert ds.labels.tolist() == [0, 0, 1, 1, 2] and ds.labels.dtype == torch.int64
    batch = ds.load_batch([0, 1, 2, 3])
    assert batch.shape == (4, 3, 20, 20) and batch.dtype == torch.uint8
    assert batch[0, :, 5, 5].tolist() == [10, 20, 30]  # RGBA -> RGB
    assert (batch[1] == 90).all()  # grayscale -> RGB, 30x60 resized to 20x40 and centre-cropped
    assert (batch[2, 1] == 255).all() and (batch[2, 0] == 0).all()  # centre crop of the 40x20 image is all green
    big = batch[3].float().mean(dim=(1, 2))
    assert torch.allclose(big, torch.tensor([200.0, 40.0, 40.0]), atol=3)  # JPEG of a flat colour
    image, label = ds[2]
    assert torch.equal(image, batch[2]) and label == 1
    assert ds.name.startswith("imagefolder:") and datasets.label(ds.name) == "root"
    assert normalization(ds.name) == datasets.IMAGENET_NORMALIZATION


def test_imagefolder_resize_then_crop_and_grayscale(tmp_path):
    make_folder(tmp_path / "root")
    ds = ImageFolderDataset(tmp_path / "root", "train", size=8, resize=10, workers=1)
    wide = ds.load_batch([2])[0]  # 40x20 -> 20x10 -> centre 8x8 crop: columns 6..13 of 20
    assert wide.shape == (3, 8, 8)
    assert (wide[1, :, 1:7] == 255).all()  # green inside (original columns 14..26)
    gray = ImageFolderDataset(tmp_path / "root", "train", size=16, channels=1, workers=1)
    assert gray.load_batch([1]).shape == (1, 1, 16, 16)


def test_imagefolder_test_and_val_splits(tmp_path):
    make_folder(tmp_path / "a", test_dir="test")
    make_folder(tmp_path / "b", test_dir="val")
    for root in (tmp_path / "a", tmp_path / "b"):
        test = ImageFolderDataset(root, "test", size=16)
        assert test.classes == ["cat", "dog", "empty_class"]  # the train split's classes
        assert test.labels.tolist() == [0, 1]
        assert test.load_batch([0, 1])[:, :, 0, 0].tolist() == [[4, 5, 6], [1, 2, 3]]
    assert len(ImageFolderDataset(tmp_path / "b", "val", size=16)) == 2


def test_imagefolder_bad_layouts(tmp_path):
    with pytest.raises(manifest.DataError, match="no such directory"):
        ImageFolderDataset(tmp_path / "missing", "train")
    (tmp_path / "flat" / "train").mkdir(parents=True)
    with pytest.raises(manifest.DataError, match="no class sub-folders"):
        ImageFolderDataset(tmp_path / "flat", "train")
    make_folder(tmp_path / "odd")
    _save(tmp_path / "odd" / "test" / "horse" / "h.png", Image.new("RGB", (8, 8)))
    with pytest.raises(manifest.DataError, match=r"classes \['horse'\] are not in"):
        ImageFolderDataset(tmp_path / "odd", "test")
    make_folder(tmp_path / "notest")
    for p in (tmp_path / "notest" / "test").rglob("*.png"):
        p.unlink()
    with pytest.raises(manifest.DataError, match="no images"):
        ImageFolderDataset(tmp_path / "notest", "test")
    (tmp_path / "odd" / "train" / "dog" / "broken.png").write_bytes(b"not a png")
    ds = ImageFolderDataset(tmp_path / "odd", "train", size=8)
    with pytest.raises(manifest.DataError, match="broken.png: cannot decode"):
        ds.load_batch(range(len(ds)))


def test_imagefolder_streaming_and_cached_materialisation(cache, tmp_path, monkeypatch):
    make_folder(tmp_path / "root")
    ds = ImageFolderDataset(tmp_path / "root", "train", size=12, workers=2)
    seen, shapes = [], set()
    for images, labels in ds.iter_batches(2, shuffle=True, generator=torch.Generator().manual_seed(0)):
        seen += labels.tolist()
        shapes.add(tuple(images.shape[1:]))
    assert sorted(seen) == sorted(ds.labels.tolist()) and shapes == {(3, 12, 12)}
    assert sum(1 for _ in ds.iter_batches(2, drop_last=True)) == 2
    full = ds.images
    assert full.shape == (5, 3, 12, 12) and torch.equal(full[1:3], ds.load_batch([1, 2]))
    assert len(list((cache / "decoded").glob("imagefolder-train-*.npy"))) == 1
    # a fresh object reads the cache instead of decoding again
    again = ImageFolderDataset(tmp_path / "root", "train", size=12)
    decode = ImageFolderDataset._decode
    monkeypatch.setattr(ImageFolderDataset, "_decode", lambda self, p: pytest.fail("decoded again"))
    assert torch.equal(again.images, full)
    # a different size is a different cache entry
    monkeypatch.setattr(ImageFolderDataset, "_decode", decode)
    assert ImageFolderDataset(tmp_path / "root", "train", size=10).images.shape == (5, 3, 10, 10)
    monkeypatch.setattr(ImageFolderDataset, "max_materialize_bytes", 100)
    with pytest.raises(MemoryError, match="stream them"):
        ImageFolderDataset(tmp_path / "root", "train", size=12).images


def test_in_memory_dataset_batches():
    ds = datasets.ImageDataset("x", "train", torch.arange(6 * 3 * 2 * 2, dtype=torch.uint8).view(6, 3, 2, 2),
                               torch.arange(6), ["a"] * 6)
    got = torch.cat([lab for _, lab in ds.iter_batches(4, shuffle=True, generator=torch.Generator().manual_seed(1))])
    assert sorted(got.tolist()) == list(range(6))
    assert torch.equal(ds.load_batch([5, 0]), ds.images[[5, 0]])
    assert len(ds.subset(4)) == 4


# ------------------------------------------------------------------ the real mirror

@pytest.mark.skipif(not os.environ.get(manifest.MIRROR_ENV), reason="AUGPRIOR_MIRROR not set")
def test_real_cifar10_jpeg_from_mirror():
    train = load_dataset("cifar10_jpeg", "train")
    test = load_dataset("cifar10_jpeg", "test")
    assert train.images.shape == (50000, 3, 32, 32) and test.images.shape == (10000, 3, 32, 32)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert train.labels.bincount().tolist() == [5000] * 10
    assert test.labels.bincount().tolist() == [1000] * 10
    assert train.classes == CIFAR10_CLASSES
    mean = train.images[::10].float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor(normalization("cifar10_jpeg")[0]), atol=0.01)


def test_subsets_spread_over_classes_of_a_class_sorted_dataset():
    """CIFAR-10 (JPEG) and image folders are stored class by class: a subset must not be 'the first N'."""
    from augprior.datasets import ImageDataset, subset_indices

    labels = torch.arange(10).repeat_interleave(100)  # 1000 items, sorted by class
    ds = ImageDataset("x", "test", torch.zeros(1000, 3, 4, 4, dtype=torch.uint8), labels, [str(i) for i in range(10)])
    sub = ds.subset(200)
    assert len(sub) == 200 and set(sub.labels.tolist()) == set(range(10))
    counts = torch.bincount(sub.labels, minlength=10)
    assert counts.min() >= 8 and counts.max() <= 35
    small, large = set(subset_indices(1000, 50).tolist()), set(subset_indices(1000, 300).tolist())
    assert small < large  # nested
    assert torch.equal(subset_indices(1000, 50), subset_indices(1000, 50))  # fixed
    assert torch.equal(ds.subset(5000).labels, labels)  # n >= len: everything, in order
