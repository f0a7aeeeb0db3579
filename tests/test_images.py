"""Source images: paper names, library pool, files, URLs, conversions and clear errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from augprior import manifest, source_images
from augprior.patches import PatchError, PatchSpec, make_patch_set


def test_pool_has_at_least_15_offline_images_that_load():
    names = source_images.pool_images()
    assert len(names) >= 15
    assert {"skimage:coffee", "skimage:astronaut", "sklearn:china", "sklearn:flower",
            "matplotlib:grace_hopper"} <= set(names)
    for name in names:
        src = source_images.load_source(name)
        assert src.pixels.dtype == np.uint8 and src.pixels.ndim == 3 and src.pixels.shape[2] == 3, name
        assert src.md5_of == "file" and src.md5 == manifest.md5sum(src.path)
        assert source_images.image_size(name) == src.pixels.shape[:2]
    big = source_images.pool_images(min_side=PatchSpec(size=32).min_source_side())
    assert "skimage:microaneurysms" in big and len(big) >= 15
    assert "skimage:microaneurysms" not in source_images.pool_images(min_side=128)
    assert set(source_images.pool_image_info()) >= set(names)


def test_library_images_convert_like_the_official_generator():
    camera = source_images.load_source_image("skimage:camera")            # grayscale PNG
    assert camera.shape == (512, 512, 3) and (camera[..., 0] == camera[..., 2]).all()
    logo = source_images.load_source_image("skimage:logo")                # RGBA PNG: alpha dropped
    with Image.open(source_images.library_image_path("skimage:logo")) as im:
        assert im.mode == "RGBA"
        assert np.array_equal(logo, np.asarray(im.convert("RGB")))
    with pytest.raises(manifest.DataError, match="unknown library image"):
        source_images.load_source("skimage:not_an_image")


def test_paper_images_resolve_from_the_mirror(mirror):
    want = {"city": (1920, 2560), "animals": (225, 600), "animals_large": (600, 1600), "bridge": (585, 1165),
            "universe": (872, 1000)}
    for name, shape in want.items():
        src = source_images.load_source(name, mirror=mirror)
        assert src.pixels.shape == (*shape, 3), name
        if name != "universe":
            assert src.md5 == manifest.image_entry(name)["file"]["md5"]
    assert source_images.load_source("paper:bridge", mirror=mirror).pixels.shape == (585, 1165, 3)
    assert source_images.pool_images(include_paper=True, mirror=mirror)[:6] == sorted(manifest.image_names())


def test_noise_is_generated_and_seeded():
    a = source_images.load_source("noise")
    assert a.pixels.shape == (1920, 2560, 3) and a.path is None and a.md5_of == "pixels"
    assert a.md5 == hashlib.md5(a.pixels.tobytes()).hexdigest() == source_images.load_source("noise").md5
    assert abs(float(a.pixels.mean()) - 127.5) < 0.5


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "1", "I;16", "CMYK"])
def test_file_modes_become_rgb(tmp_path, mode):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    base = Image.fromarray(rgb)
    if mode == "I;16":
        img = Image.fromarray(rgb[..., 0].astype(np.uint16) * 257)      # 16-bit grayscale
    else:
        img = base.convert(mode)
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    img.save(path)
    out = source_images.load_source_image(str(path))
    assert out.shape == (70, 90, 3) and out.dtype == np.uint8
    if mode == "RGBA":
        assert np.array_equal(out, rgb)
    if mode == "I;16":
        assert Image.open(path).mode == "I;16" and np.array_equal(out[..., 1], rgb[..., 0])


def test_corrupt_truncated_and_missing_files_are_clear_errors(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    with pytest.raises(manifest.DataError, match="broken.jpg.*not a readable image"):
        source_images.load_source_image(str(bad))
    good = tmp_path / "good.jpg"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(good, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(manifest.DataError, match="cut.jpg"):
        source_images.load_source_image(str(cut))
    with pytest.raises(manifest.DataError, match="neither a known name"):
        source_images.load_source_image(str(tmp_path / "missing.png"))
    with pytest.raises(manifest.DataError, match="md5"):
        source_images.load_source_image(str(good), md5="0" * 32)


def test_too_small_image_is_an_error_naming_the_file(tmp_path):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((100, 300, 3), np.uint8)).save(small)
    with pytest.raises(PatchError, match=r"small.png: 300x100 px is too small for 64-px patches.*at least 128 px"):
        make_patch_set(str(small), tmp_path / "p.npy", PatchSpec(size=64), num=2)
    assert not (tmp_path / "p.npy").exists()
    make_patch_set(str(small), tmp_path / "p.npy", PatchSpec(size=50), num=2)    # 100 // 2 = 50: just fits


def test_url_with_md5_downloads_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(manifest.CACHE_ENV, str(tmp_path / "cache"))
    src = tmp_path / "photo.png"
    pixels = np.random.default_rng(1).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src)
    md5 = manifest.md5sum(src)
    url = src.as_uri()
    got = source_images.load_source(url, md5=md5)
    assert np.array_equal(got.pixels, pixels) and got.md5 == md5 and got.name == url
    cached = tmp_path / "cache" / "downloads" / "images" / f"{md5}-photo.png"
    assert cached.is_file() and got.path == str(cached)
    src.unlink()                                     # now served from the cache
    assert np.array_equal(source_images.load_source_image(url, md5=md5), pixels)
    with pytest.raises(manifest.DataError, match="needs an md5"):
        source_images.load_source(url)
    with pytest.raises(manifest.DataError):
        source_images.load_source((tmp_path / "other.png").as_uri(), md5=md5)
