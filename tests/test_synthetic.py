"""Synthetic distillation data (Table 2): FractalDB-style fractals, random-init StyleGAN images, set files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augprior import fileio
from augprior.synthetic import fractal_images, load_synthetic_set, make_synthetic_set, stylegan_images
from augprior.synthetic import fractal as fr
from augprior.synthetic import store
from augprior.synthetic.stylegan import RandomStyleGAN

# small but real generators: a few categories, a narrow random StyleGAN
SG = dict(channel_max=32, z_dim=64, w_dim=64, mapping_layers=2)


@pytest.fixture(scope="module")
def codes():
    return fr.search_codes(3, seed=0)[0]


# ----------------------------------------------------------------------------- fractals

def test_weights_table_is_fractaldbs():
    w = fr.WEIGHTS
    assert w.shape == (25, 6)
    assert (w[2] == 1).all()
    changed = (w != 1).sum(1)
    assert changed[2] == 0 and (np.delete(changed, 2) == 1).all()
    assert sorted(set(w[w != 1].round(2))) == [0.8, 0.9, 1.1, 1.2]


def test_filling_rate_rejects_degenerate_codes():
    rng = np.random.default_rng(0)
    square = fr.IFSCode.from_maps([[0.5, 0, 0, 0.5, x, y] for x in (0, 0.5) for y in (0, 0.5)])  # fills the square
    line = fr.IFSCode.from_maps([[0.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0.5]])  # diagonal segment
    point = fr.IFSCode.from_maps([[0.3, 0.1, -0.1, 0.3, 0.2, 0.1]])  # a single contraction: a fixed point
    diverging = fr.IFSCode.from_maps([[1.5, 0, 0, 1.5, 0.1, 0], [1.2, 0.3, 0, 1.2, 0, 0.1]])
    sierpinski = fr.IFSCode.from_maps([[0.5, 0, 0, 0.5, x, y] for x, y in ((0, 0), (0.5, 0), (0.25, 0.5))])
    rates = fr.filling_rates([square, line, point, diverging, sierpinski], rng)
    assert rates[0] >= 0.2
    assert rates[1] < 0.02 and rates[2] == 0 and rates[3] == 0
    assert rates[4] < 0.2  # a thin fractal dust: FractalDB's threshold rejects it too
    _, _, _, ok = fr.chaos_game([square, diverging], rng.random((2, 60, 50)), burn_in=10)
    assert ok.tolist() == [True, False]


def test_search_keeps_only_codes_above_threshold(codes):
    assert len(codes) == 3
    assert all(2 <= len(c.maps) <= 8 and np.isclose(c.probs.sum(), 1) for c in codes)
    rates = fr.filling_rates(codes, np.random.default_rng(123))
    assert (rates >= 0.19).all()  # an independent re-render: the filling rate is a stable property
    again, stats = fr.search_codes(3, seed=0)
    assert all(np.array_equal(a.maps, b.maps) for a, b in zip(codes, again))
    assert stats["candidates"] >= 3 and stats["accepted"] == 3


def test_fractal_images_deterministic_shape_and_content(codes):
    a = fractal_images(6, 32, seed=0, codes=codes)
    b = fractal_images(6, 32, seed=0, codes=codes, batch_size=4)  # batching does not change an image
    c = fractal_images(6, 32, seed=1, codes=codes)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    for img in a:
        gray = img.astype(float).mean(-1)
        assert img.std() > 10
        assert (gray < 5).mean() > 0.02 and (gray > 40).mean() > 0.05  # black background, drawn shape


def test_fractal_seed_drives_the_code_search():
    a, info_a = fractal_images(3, 16, seed=0, num_categories=3, return_info=True)
    b, info_b = fractal_images(3, 16, seed=0, num_categories=3, return_info=True)
    _, info_c = fractal_images(3, 16, seed=5, num_categories=3, return_info=True)
    assert np.array_equal(a, b) and info_a["codes"] == info_b["codes"]
    assert info_a["codes"] != info_c["codes"]
    assert info_a["labels"][:, 0].tolist() == [0, 1, 2]


def test_fractal_instances_of_a_category(codes):
    imgs, info = fractal_images(9, 32, seed=0, codes=codes, return_info=True)
    labels = info["labels"]  # (category, instance, variant, flip)
    assert labels[:, 0].tolist() == [0, 1, 2] * 3 and labels[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert labels[:, 2].tolist() == labels[:, 1].tolist()  # variant = instance % 25
    # two instances of category 0: a parameter variant and a new render, not a copy
    assert not np.array_equal(imgs[0], imgs[3])
    # instance 25 of a category is variant 0 again, flipped vertically
    one = fractal_images(1, 32, seed=0, codes=codes[:1], return_info=True)[1]["labels"]
    assert one.tolist() == [[0, 0, 0, 0]]
    later = fractal_images(26, 32, seed=0, codes=codes[:1], return_info=True)[1]["labels"]
    assert later[25].tolist() == [0, 25, 0, 1]


def test_fractal_colour_modes_and_patch_drawing(codes):
    gray = fractal_images(2, 32, seed=0, codes=codes, color="gray")
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    assert gray.max() <= 127
    mapped = fractal_images(2, 32, seed=0, codes=codes, color="map")
    assert np.abs(mapped[..., 0].astype(int) - mapped[..., 1]).mean() > 5  # really coloured
    patched = fractal_images(2, 16, seed=0, codes=codes, render_size=64, patch=True)
    plain = fractal_images(2, 16, seed=0, codes=codes, render_size=64, patch=False)
    assert patched.shape == plain.shape == (2, 16, 16, 3)
    assert patched.astype(float).mean() > plain.astype(float).mean()  # stamps cover more pixels
    with pytest.raises(ValueError):
        fractal_images(1, 32, codes=codes, color="rainbow")
    with pytest.raises(ValueError):
        fractal_images(1, 32, codes=codes, render_size=16)


# ----------------------------------------------------------------------------- StyleGAN

def test_modulated_conv_equals_the_fused_grouped_form():
    g = torch.Generator().manual_seed(0)
    x, w, s = torch.randn(3, 8, 6, 6, generator=g), torch.randn(5, 8, 3, 3, generator=g), torch.randn(3, 8, generator=g)
    wgt = w[None] * s[:, None, :, None, None]
    wgt = wgt * torch.rsqrt(wgt.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    ref = F.conv2d(x.reshape(1, 24, 6, 6), wgt.reshape(15, 8, 3, 3), padding=1, groups=3).reshape(3, 5, 6, 6)
    assert torch.allclose(RandomStyleGAN._modconv(x, w, s, demodulate=True), ref, atol=1e-5)
    # demodulation: the output scale does not depend on the style's scale
    assert torch.allclose(RandomStyleGAN._modconv(x, w, 7 * s, True), RandomStyleGAN._modconv(x, w, s, True), atol=1e-4)


def test_generator_layout():
    net = RandomStyleGAN(32, torch.Generator().manual_seed(0), **SG)
    assert net.block_res == [4, 8, 16, 32]
    assert [l_["kind"] for l_ in net.layers].count("rgb") == 4
    assert net.noise_shapes == [(4, 4), (8, 8), (8, 8), (16, 16), (16, 16), (32, 32), (32, 32)]
    with pytest.raises(ValueError):
        RandomStyleGAN(24, torch.Generator(), **SG)


def test_stylegan_deterministic_and_batch_independent():
    a = stylegan_images(6, 32, seed=0, batch_size=4, **SG)
    b = stylegan_images(6, 32, seed=0, batch_size=6, **SG)
    c = stylegan_images(6, 32, seed=1, batch_size=4, **SG)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= 1  # same random inputs; batched kernels may round differently
    assert np.abs(a.astype(int) - c).mean() > 10


def test_stylegan_images_differ_and_are_structured():
    imgs = stylegan_images(8, 32, seed=0, images_per_network=4, **SG).astype(float)
    flat = imgs.reshape(8, -1)
    for i in range(8):
        assert flat[i].std() > 10
        for j in range(i):
            assert np.abs(flat[i] - flat[j]).mean() > 5
    # structure, not white noise: neighbouring pixels are strongly correlated
    x = imgs.mean(-1)
    d = x - x.mean(axis=(1, 2), keepdims=True)
    corr = (d[:, :, 1:] * d[:, :, :-1]).mean() / (d ** 2).mean()
    assert corr > 0.5


def test_stylegan_normalisations():
    mm = stylegan_images(3, 16, seed=0, normalize="minmax", **SG)
    assert (mm.reshape(3, -1).min(1) == 0).all() and (mm.reshape(3, -1).max(1) == 255).all()
    bd = stylegan_images(40, 16, seed=0, **SG).astype(float) / 255
    means = bd.mean(axis=(1, 2))  # (N, 3): per image and channel, drawn around ImageNet-like means
    assert np.allclose(means.mean(0), [0.483, 0.455, 0.401], atol=0.08)
    assert means.std(0).min() > 0.05
    with pytest.raises(ValueError):
        stylegan_images(1, 16, normalize="tanh", **SG)


def test_stylegan_render_size_and_options():
    big = stylegan_images(2, 16, seed=0, render_size=32, **SG)
    assert big.shape == (2, 16, 16, 3)
    nomap = stylegan_images(2, 16, seed=0, mapping=False, noise_strength=0.0, activation="lrelu", **SG)
    assert nomap.shape == (2, 16, 16, 3) and nomap.std() > 10
    with pytest.raises(ValueError):
        stylegan_images(1, 32, render_size=16, **SG)
    assert np.array_equal(stylegan_images(2, 16, seed=0, device="cpu", **SG), stylegan_images(2, 16, seed=0, **SG))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_stylegan_cuda_matches_cpu():
    """Random inputs are drawn on the CPU: the GPU renders the same images (up to rounding)."""
    cpu = stylegan_images(4, 32, seed=0, device="cpu", **SG).astype(int)
    gpu = stylegan_images(4, 32, seed=0, device="cuda", **SG).astype(int)
    assert np.abs(cpu - gpu).max() <= 2


# ----------------------------------------------------------------------------- set files

def test_make_synthetic_set_writes_array_and_metadata(tmp_path):
    out = tmp_path / "sets" / "stylegan.npy"
    meta = make_synthetic_set("stylegan", out, num=5, size=16, seed=3, **SG)
    assert sorted(p.name for p in out.parent.iterdir()) == ["stylegan.json", "stylegan.npy"]
    arr = np.load(out)
    assert arr.shape == (5, 16, 16, 3) and arr.dtype == np.uint8
    assert np.array_equal(arr, stylegan_images(5, 16, seed=3, **SG))
    on_disk = json.loads((tmp_path / "sets" / "stylegan.json").read_text())
    assert on_disk == meta
    expected = {"synthetic": "stylegan", "count": 5, "size": 16, "seed": 3, "shape": [5, 16, 16, 3],
                "format": "augprior-patches/1", "kind": "npy", "layout": "NHWC", "dtype": "uint8"}
    assert {k: meta[k] for k in expected} == expected
    assert meta["params"] == SG and meta["augprior_version"] and len(meta["npy_md5"]) == 32
    images, meta2 = load_synthetic_set(out, verify=True)
    assert np.array_equal(images, arr) and meta2 == meta


def test_distillation_engine_reads_synthetic_sets(tmp_path):
    """The set is a patch set: augprior.patches.load_patch_set gives (N, 3, P, P) uint8."""
    patches_store = pytest.importorskip("augprior.patches.store")
    assert store.FORMAT == patches_store.FORMAT
    out = tmp_path / "fractal.npy"
    make_synthetic_set("fractal", out, num=4, size=16, seed=0, num_categories=2)
    assert patches_store.meta_path(out) == store.meta_path(out)
    x = patches_store.load_patch_set(out, verify=True)
    assert tuple(x.shape) == (4, 3, 16, 16) and x.dtype == torch.uint8
    assert torch.equal(x.permute(0, 2, 3, 1), torch.from_numpy(np.load(out)))


def test_fractal_set_records_codes(tmp_path):
    meta = make_synthetic_set("fractal", tmp_path / "f.npy", num=4, size=16, seed=0, num_categories=2)
    assert len(meta["codes"]) == 2 and meta["search"]["accepted"] == 2
    assert meta["params"] == {"num_categories": 2} and meta["source"]["name"] == "synthetic:fractal"
    assert np.load(tmp_path / "f.npy").shape == (4, 16, 16, 3)


def test_set_is_written_atomically(tmp_path, monkeypatch):
    out = tmp_path / "s.npy"
    # a failure while writing the metadata: neither file appears, no temporaries are left
    real = fileio.write_json

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fileio, "write_json", boom)
    with pytest.raises(OSError, match="disk full"):
        make_synthetic_set("stylegan", out, num=2, size=16, **SG)
    assert list(tmp_path.iterdir()) == []
    # an existing set survives a failing rewrite untouched
    monkeypatch.setattr(fileio, "write_json", real)
    make_synthetic_set("stylegan", out, num=2, size=16, **SG)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(np, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"):
        make_synthetic_set("stylegan", out, num=3, size=16, seed=9, **SG)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_set_validation(tmp_path):
    with pytest.raises(ValueError, match="unknown synthetic kind"):
        make_synthetic_set("noise", tmp_path / "x.npy", num=2, size=16)
    with pytest.raises(ValueError):
        make_synthetic_set("stylegan", tmp_path / "x.npy", num=0, size=16)
    with pytest.raises(ValueError, match=".npy"):
        make_synthetic_set("stylegan", tmp_path / "x.bin", num=2, size=16)
    make_synthetic_set("stylegan", tmp_path / "x.npy", num=2, size=16, **SG)
    arr = np.load(tmp_path / "x.npy")
    arr[0, 0, 0, 0] ^= 1
    np.save(tmp_path / "x.npy", arr)
    load_synthetic_set(tmp_path / "x.npy")  # shape check only
    with pytest.raises(ValueError, match="md5"):
        load_synthetic_set(tmp_path / "x.npy", verify=True)
    (tmp_path / "x.json").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        load_synthetic_set(tmp_path / "x.npy")
