"""augprior.folders: STL-10, Flowers-102 and Places-365 exported from tiny files in their official formats
(made here) into the ImageFolder layout the 224-px runs read. The files are not the published ones, so
torchvision's md5 checks are bypassed in these tests (and shown to refuse them otherwise)."""

import json

import numpy as np
import pytest
from PIL import Image

from augprior import folders
from augprior.datasets import ImageFolderDataset
from augprior.manifest import DataError


def trust_files(monkeypatch):
    from torchvision import datasets

    for cls in (datasets.STL10, datasets.Flowers102):
        monkeypatch.setattr(cls, "_check_integrity", lambda self: True)
    monkeypatch.setattr(datasets.Places365, "_check_integrity", lambda self, file, md5, download: True)


def make_stl10(root, n_train=6, n_test=4):
    base = root / "stl10_binary"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8).tofile(base / f"{split}_X.bin")
        (np.arange(n) % 3 + 1).astype(np.uint8).tofile(base / f"{split}_y.bin")  # labels 1-based
    (base / "class_names.txt").write_text("airplane\nbird\ncar\n")
    return base


def make_jpeg(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 50, 3), value, np.uint8)).save(path)


def test_stl10_exports_pngs_that_read_back_pixel_for_pixel(tmp_path, monkeypatch):
    trust_files(monkeypatch)
    base = make_stl10(tmp_path / "src")
    rec = folders.export("stl10", tmp_path / "src", tmp_path / "stl10")
    assert rec["splits"]["train"] == {"from": ["train"], "images": 6, "classes": 3}
    assert rec["splits"]["val"]["images"] == 4
    assert json.loads((tmp_path / "stl10" / "export.json").read_text()) == json.loads(json.dumps(rec))
    ds = ImageFolderDataset(tmp_path / "stl10", "test", 96)
    assert ds.classes == ["airplane", "bird", "car"] and ds.labels.tolist() == [0, 0, 1, 2]  # labels 1, 2, 3, 1
    raw = np.fromfile(base / "test_X.bin", np.uint8).reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)  # column-major
    first = np.asarray(Image.open(tmp_path / "stl10" / "val" / "airplane" / "test_00000.png")).transpose(2, 0, 1)
    assert np.array_equal(first, raw[0])
    assert not (tmp_path / "stl10.partial").exists()


def test_flowers102_links_train_and_val_into_train_and_test_into_val(tmp_path, monkeypatch):
    from scipy.io import savemat

    trust_files(monkeypatch)
    base = tmp_path / "src" / "flowers-102"
    for i in range(1, 9):
        make_jpeg(base / "jpg" / f"image_{i:05d}.jpg", 20 * i)
    savemat(base / "imagelabels.mat", {"labels": np.array([1, 2, 1, 2, 1, 2, 1, 2])})
    savemat(base / "setid.mat", {"trnid": np.array([1, 2]), "valid": np.array([3, 4]), "tstid": np.array([5, 6, 7, 8])})
    rec = folders.export("flowers102", tmp_path / "src", tmp_path / "flowers102")
    assert rec["splits"]["train"] == {"from": ["train", "val"], "images": 4, "classes": 2}
    link = tmp_path / "flowers102" / "val" / "001" / "image_00006.jpg"
    assert link.is_symlink() and link.resolve() == (base / "jpg" / "image_00006.jpg").resolve()
    assert ImageFolderDataset(tmp_path / "flowers102", "val", 32).labels.tolist() == [0, 0, 1, 1]


def test_places365_uses_the_devkit_lists_and_class_names(tmp_path, monkeypatch):
    trust_files(monkeypatch)
    src = tmp_path / "src"
    src.mkdir()
    (src / "categories_places365.txt").write_text("/a/airfield 0\n/b/beach 1\n")
    (src / "places365_train_standard.txt").write_text("/a/airfield/00000001.jpg 0\n/b/beach/00000001.jpg 1\n")
    (src / "places365_val.txt").write_text("Places365_val_00000001.jpg 1\n")
    for rel, v in (("data_large_standard/a/airfield/00000001.jpg", 10), ("data_large_standard/b/beach/00000001.jpg", 200),
                   ("val_large/Places365_val_00000001.jpg", 190)):
        make_jpeg(src / rel, v)
    folders.export("places365", src, tmp_path / "places365")
    assert sorted(p.name for p in (tmp_path / "places365" / "train").iterdir()) == ["a-airfield", "b-beach"]
    val = ImageFolderDataset(tmp_path / "places365", "val", 32)
    assert val.classes == ["a-airfield", "b-beach"] and val.labels.tolist() == [1]


def test_unverified_files_are_refused_and_nothing_is_written(tmp_path, capsys):
    make_stl10(tmp_path / "src")  # not the published files: torchvision's md5 check fails
    assert folders.main(["stl10", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "out")]) == 2
    assert "corrupted" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_an_existing_folder_is_not_overwritten(tmp_path, monkeypatch):
    trust_files(monkeypatch)
    make_stl10(tmp_path / "src")
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="refusing"):
        folders.export("stl10", tmp_path / "src", tmp_path / "out")
    with pytest.raises(DataError, match="unknown dataset"):
        folders.export("cifar10", tmp_path / "src", tmp_path / "x")
