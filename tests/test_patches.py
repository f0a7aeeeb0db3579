"""Patch generation: spec, sampler, reference fidelity, determinism, storage, on-the-fly, grid, CLI."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from augprior import fileio
from augprior.source_images import load_source_image
from augprior.patches import (OnTheFlyPatches, PatchError, PatchShards, PatchSpec, generate, load_patch_meta,
                              load_patch_set, make_patch_set, sample_params, save_patch_grid)
from augprior import cli
from augprior.patches import reference, store
from augprior.patches.params import sample_params_torch
from augprior.patches.rng import philox4x32


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return load_source_image("skimage:coffee")      # 600 x 400, ships with scikit-image


# -- sampler ----------------------------------------------------------------------------------

def test_philox_reproduces_random123_known_answers():
    kat = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
           ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
           ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for ctr, key, want in kat:
        assert tuple(int(v) for v in philox4x32(np.array(ctr), np.array(key))) == want


def test_spec_derived_sizes_and_validation():
    s = PatchSpec()
    assert (s.size, s.resized, s.center_offset, s.jpeg_quality, s.vflip) == (32, 45, 6, 75, False)
    assert s.scale == (1 / 500, 1.0) and s.ratio == (0.75, 4 / 3) and s.jitter == (0.4, 0.4, 0.4, 0.1)
    assert PatchSpec(size=224).resized == 316 and PatchSpec(size=256).resized == 362
    assert s.min_source_side() == 64 and PatchSpec(size=224).min_source_side() == 448
    assert s.crop_side(225, 600) == 112
    assert PatchSpec.from_dict(s.to_dict()) == s
    json.dumps(s.to_dict())
    for bad in [dict(size=0), dict(size=3.5), dict(scale=(0.5, 0.1)), dict(scale=(0.1, 2.0)), dict(jpeg_quality=0),
                dict(jpeg_quality=101), dict(jitter_p=1.5), dict(jitter=(0.4, 0.4, 0.4, 0.7)), dict(init_crop=0)]:
        with pytest.raises(PatchError):
            PatchSpec(**bad)
    with pytest.raises(PatchError, match="unknown PatchSpec keys"):
        PatchSpec.from_dict({"size": 32, "colour": 1})
    with pytest.raises(PatchError, match="at least 64 px"):
        s.check_source(63, 500, "tiny.png")
    s.check_source(64, 64)


def test_sample_params_follow_the_official_distribution():
    spec = PatchSpec(size=32)
    H, W = 400, 600
    p = sample_params(0, H, W, spec, 20000)
    side = spec.crop_side(H, W)
    assert p.side == 200
    assert (p.top0 >= 0).all() and (p.top0 + side <= H).all() and (p.left0 + side <= W).all()
    assert (p.h >= 1).all() and (p.w >= 1).all() and (p.i + p.h <= side).all() and (p.j + p.w <= side).all()
    frac = p.h * p.w / side ** 2
    assert frac.min() > 0.5 / 500 and frac.max() <= 1.0
    aspect = p.w / p.h
    assert np.quantile(aspect, 0.01) > 0.7 and np.quantile(aspect, 0.99) < 1.4
    assert np.abs(p.angle).max() < 30 and np.abs(p.shear).max() < 30 and abs(p.angle.mean()) < 1
    assert not p.vflip.any()
    assert abs(p.jitter.mean() - 0.5) < 0.02
    assert (np.sort(p.order, axis=1) == np.arange(4)).all()
    assert abs((p.order[:, 0] == 3).mean() - 0.25) < 0.02          # random order, uniform
    assert (p.brightness >= 0.6).all() and (p.brightness <= 1.4).all() and (np.abs(p.hue) <= 0.1).all()
    # conditional on fitting, the area fraction is uniform on (1/500, 1): mean about 0.5 less the rejections
    assert 0.3 < frac.mean() < 0.55
    v = sample_params(0, H, W, PatchSpec(vflip=True), 4000).vflip
    assert abs(v.mean() - 0.5) < 0.03
    # torchvision's stock sampler: after rrc_max_tries misses, the whole (square) crop
    stock = sample_params(0, H, W, PatchSpec(rrc_max_tries=1), 4000)
    missed = (stock.h == side) & (stock.w == side) & (stock.i == 0) & (stock.j == 0)
    assert 0.1 < missed.mean() < 0.6
    assert not ((p.h == side) & (p.w == side)).mean() > 0.01    # the released sampler retries instead


def test_params_depend_only_on_seed_and_index():
    spec = PatchSpec()
    full = sample_params(7, 300, 300, spec, 500)
    part = sample_params(7, 300, 300, spec, 100, start=250)
    for name in ("top0", "left0", "i", "j", "h", "w", "angle", "shear", "jitter", "order", "hue"):
        assert np.array_equal(getattr(full, name)[250:350], getattr(part, name)), name
    other = sample_params(8, 300, 300, spec, 500)
    assert not np.array_equal(full.angle, other.angle)


# -- reference engine = the official torchvision pipeline ---------------------------------------

class _RetryingResizedCrop(T.RandomResizedCrop):
    """torchvision's RandomResizedCrop whose sampler retries until a box fits (as the official code)."""

    @staticmethod
    def get_params(img, scale, ratio):
        width, height = TF.get_image_size(img)
        area = height * width
        log_ratio = torch.log(torch.tensor(ratio))
        while True:
            target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
            aspect = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return (torch.randint(0, height - h + 1, size=(1,)).item(),
                        torch.randint(0, width - w + 1, size=(1,)).item(), h, w)


def _official_pipeline(pil: Image.Image, spec: PatchSpec) -> T.Compose:
    steps = [T.RandomCrop(spec.crop_side(pil.size[1], pil.size[0])),
             _RetryingResizedCrop(spec.resized, scale=spec.scale, ratio=spec.ratio,
                                  interpolation=InterpolationMode.BICUBIC),
             T.RandomAffine(spec.degrees, shear=spec.shear, interpolation=InterpolationMode.BILINEAR, fill=0)]
    if spec.vflip:
        steps.append(T.RandomVerticalFlip(0.5))
    steps += [T.CenterCrop(spec.size), T.RandomApply([T.ColorJitter(*spec.jitter)], p=spec.jitter_p)]
    return T.Compose(steps)


@pytest.mark.parametrize("vflip", [False, True])
def test_reference_engine_reproduces_the_official_torchvision_pipeline(coffee, vflip):
    """Driven by the official generator's own torch RNG stream, the reference engine gives the
    official pipeline's patches bit for bit (before the JPEG step, which is PIL's in both)."""
    spec = PatchSpec(size=32, vflip=vflip)
    pil = Image.fromarray(coffee)
    pipeline = _official_pipeline(pil, spec)
    torch.manual_seed(555)
    official = np.stack([np.asarray(pipeline(pil)) for _ in range(60)])
    torch.manual_seed(555)
    params = sample_params_torch(*coffee.shape[:2], spec, 60)
    ours = reference.render(pil, params, spec, jpeg=False)
    assert params.jitter.any() and not params.jitter.all()
    assert np.array_equal(ours, official)


# -- generate(): determinism ------------------------------------------------------------------

def test_reference_is_deterministic_whatever_the_batch_size(coffee):
    spec = PatchSpec(size=32)
    a = generate(coffee, spec, 40, seed=3, engine="reference")
    assert a.shape == (40, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, generate(coffee, spec, 40, seed=3, engine="reference", batch_size=7))
    assert not np.array_equal(a, generate(coffee, spec, 40, seed=4, engine="reference"))


@pytest.mark.parametrize("geometry", ["two_pass", "single"])
def test_fast_is_deterministic_whatever_the_batch_size(coffee, geometry):
    spec = PatchSpec(size=32)
    a = generate(coffee, spec, 120, seed=3, engine="fast", geometry=geometry)
    assert np.array_equal(a, generate(coffee, spec, 120, seed=3, engine="fast", batch_size=13, geometry=geometry))
    assert np.array_equal(a[:6], generate(coffee, spec, 6, seed=3, engine="fast", batch_size=1, geometry=geometry))
    assert np.array_equal(a[50:], np.concatenate(list(
        __import__("augprior.patches", fromlist=["Producer"]).Producer(
            coffee, spec, 3, "fast", batch_size=32, geometry=geometry).chunks(50, 70))))


def test_generate_rejects_bad_input(coffee):
    with pytest.raises(PatchError, match="uint8"):
        generate(coffee.astype(np.float32), PatchSpec(), 2)
    with pytest.raises(PatchError, match="engine"):
        generate(coffee, PatchSpec(), 2, engine="turbo")
    with pytest.raises(PatchError, match="too small"):
        generate(coffee[:100], PatchSpec(size=64), 2)


def test_jpeg_quality_none_and_vflip(coffee):
    raw = generate(coffee, PatchSpec(size=32, jpeg_quality=None), 20, seed=1)
    jpg = generate(coffee, PatchSpec(size=32), 20, seed=1)
    assert not np.array_equal(raw, jpg) and np.abs(raw.astype(int) - jpg).mean() < 15
    fl = generate(coffee, PatchSpec(size=32, jpeg_quality=None, vflip=True), 20, seed=1)
    p = sample_params(1, *coffee.shape[:2], PatchSpec(vflip=True), 20)
    assert np.array_equal(fl[~p.vflip], raw[~p.vflip]) and not np.array_equal(fl[p.vflip], raw[p.vflip])


# -- storage ----------------------------------------------------------------------------------

def test_make_and_load_a_single_file_set(tmp_path, coffee):
    spec = PatchSpec(size=32)
    out = tmp_path / "x" / "patches.npy"
    meta = make_patch_set("skimage:coffee", out, spec, num=120, seed=2, engine="fast")
    assert out.is_file() and (tmp_path / "x" / "patches.json").is_file()
    on_disk = fileio.read_json(tmp_path / "x" / "patches.json")
    assert on_disk["count"] == 120 and on_disk["seed"] == 2 and on_disk["engine"] == "fast"
    assert on_disk["spec"] == spec.to_dict() and on_disk["source"]["name"] == "skimage:coffee"
    assert len(on_disk["source"]["md5"]) == 32 and on_disk["augprior_version"]
    assert meta["npy_md5"] == on_disk["npy_md5"]
    x = load_patch_set(out, verify=True)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and tuple(x.shape) == (120, 3, 32, 32)
    want = generate(coffee, spec, 120, seed=2, engine="fast")
    assert np.array_equal(x.permute(0, 2, 3, 1).numpy(), want)
    assert isinstance(np.load(out, mmap_mode="r"), np.memmap)
    assert load_patch_meta(out)["count"] == 120


def test_sharded_set_streams_and_matches_the_single_file(tmp_path, coffee):
    spec = PatchSpec(size=32)
    make_patch_set(coffee, tmp_path / "one.npy", spec, num=130, seed=1, engine="fast")
    meta = make_patch_set(coffee, tmp_path / "sh", spec, num=130, seed=1, engine="fast", shard_size=50)
    assert [s["count"] for s in meta["shards"]] == [50, 50, 30]
    assert sorted(os.listdir(tmp_path / "sh")) == ["index.json", "shard-00000.npy", "shard-00001.npy",
                                                   "shard-00002.npy"]
    one, sh = load_patch_set(tmp_path / "one.npy"), load_patch_set(tmp_path / "sh", verify=True)
    assert isinstance(sh, PatchShards) and len(sh) == 130 and sh.shape == one.shape
    assert torch.equal(sh[:], one) and torch.equal(sh[45:105], one[45:105]) and torch.equal(sh[-1], one[-1])
    idx = torch.tensor([0, 49, 50, 129, 7])
    assert torch.equal(sh[idx], one[idx])
    assert torch.equal(torch.cat(list(sh.iter_batches(40))), one)
    with pytest.raises(IndexError):
        sh[130]


def test_a_killed_shard_run_resumes_with_the_same_bytes(tmp_path, coffee, monkeypatch):
    spec = PatchSpec(size=32)
    real_chunks = store.Producer.chunks
    calls = {"n": 0}

    def dying_chunks(self, start, num):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        yield from real_chunks(self, start, num)

    monkeypatch.setattr(store.Producer, "chunks", dying_chunks)
    with pytest.raises(KeyboardInterrupt):
        make_patch_set(coffee, tmp_path / "sh", spec, num=100, seed=4, engine="fast", shard_size=40)
    left = sorted(os.listdir(tmp_path / "sh"))
    assert "index.json" not in left and left == [".progress.json", "shard-00000.npy", "shard-00001.npy"]
    with pytest.raises(PatchError, match="not a complete"):
        load_patch_set(tmp_path / "sh")
    monkeypatch.setattr(store.Producer, "chunks", real_chunks)
    calls_before = []
    monkeypatch.setattr(store.Producer, "chunks",
                        lambda self, s, n: (calls_before.append(s), (yield from real_chunks(self, s, n)))[1])
    make_patch_set(coffee, tmp_path / "sh", spec, num=100, seed=4, engine="fast", shard_size=40)
    assert calls_before == [80]                      # only the missing shard was generated
    assert ".progress.json" not in os.listdir(tmp_path / "sh")
    want = generate(coffee, spec, 100, seed=4, engine="fast")
    assert np.array_equal(load_patch_set(tmp_path / "sh")[:].permute(0, 2, 3, 1).numpy(), want)


def test_a_killed_single_file_run_leaves_nothing_complete(tmp_path, coffee, monkeypatch):
    spec = PatchSpec(size=32)
    out = tmp_path / "p.npy"
    make_patch_set(coffee, out, spec, num=20, seed=0, engine="fast")       # an older, complete set

    def dying_chunks(self, start, num):
        yield np.zeros((5, 32, 32, 3), np.uint8)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(store.Producer, "chunks", dying_chunks)
    with pytest.raises(KeyboardInterrupt):
        make_patch_set(coffee, out, spec, num=40, seed=1, engine="fast")
    assert not (tmp_path / "p.json").exists()        # the old metadata no longer vouches for anything
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp files left
    with pytest.raises(PatchError, match="incomplete"):
        load_patch_set(out)


def test_load_rejects_a_mismatched_file(tmp_path, coffee):
    out = tmp_path / "p.npy"
    make_patch_set(coffee, out, PatchSpec(size=32), num=10, seed=0, engine="fast")
    np.save(out, np.zeros((9, 32, 32, 3), np.uint8))
    with pytest.raises(PatchError, match="metadata says"):
        load_patch_set(out)
    with pytest.raises(PatchError, match="md5"):
        load_patch_set(out, verify=True)


# -- on the fly, grid, CLI ----------------------------------------------------------------------

def test_on_the_fly_patches_are_deterministic_per_step(coffee):
    spec = PatchSpec(size=32)
    otf = OnTheFlyPatches(coffee, spec, seed=5)
    a = otf.sample(32, step=10)
    assert a.dtype == torch.uint8 and tuple(a.shape) == (32, 3, 32, 32)
    assert torch.equal(a, otf.sample(32, step=10))
    assert torch.equal(a[:8], otf.sample(8, step=10))
    assert not torch.equal(a, otf.sample(32, step=11))
    otf6 = OnTheFlyPatches(coffee, spec, seed=6)
    otf6._renderer = otf._renderer                    # same image and spec: share the pyramid
    assert not torch.equal(a, otf6.sample(32, step=10))
    fixed = torch.from_numpy(generate(coffee, spec, 32, seed=5, engine="fast")).permute(0, 3, 1, 2)
    assert not torch.equal(a, fixed)                  # its own stream, not the materialised set's
    ref = OnTheFlyPatches(coffee, spec, seed=5, engine="reference").sample(8, step=10)
    assert (ref.float() - a[:8].float()).abs().mean() < 12   # same patches, the other engine


def test_save_patch_grid_writes_a_png(tmp_path, coffee):
    x = generate(coffee, PatchSpec(size=32), 70, seed=0, engine="fast")
    save_patch_grid(x, tmp_path / "grid.png", n=64)
    with Image.open(tmp_path / "grid.png") as im:
        assert im.format == "PNG" and min(im.size) >= 256
        pix = np.asarray(im.convert("RGB"))
    assert pix.std() > 20                             # patches, not a blank canvas
    save_patch_grid(torch.from_numpy(x).permute(0, 3, 1, 2), tmp_path / "g2.png", n=10, title="animals")
    assert (tmp_path / "g2.png").stat().st_size > 1000
    with pytest.raises(ValueError):
        save_patch_grid(x[:, :, :, :2], tmp_path / "bad.png")


def test_cli_writes_a_patch_set(tmp_path, capsys):
    args = cli.build_parser().parse_args([
        "patches", "--image", "skimage:astronaut", "--size", "32", "--num", "25", "--seed", "9",
        "--engine", "fast", "--out", str(tmp_path / "p.npy"), "--jpeg-quality", "none",
        "--vflip", "--grid", str(tmp_path / "g.png")])
    assert args.func(args) == 0
    meta = fileio.read_json(tmp_path / "p.json")
    assert meta["spec"]["jpeg_quality"] is None and meta["spec"]["vflip"] is True and meta["seed"] == 9
    assert (tmp_path / "g.png").is_file()
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["count"] == 25
    assert cli.main(["patches", "--image", "no/such/file.png", "--num", "5", "--out", str(tmp_path / "q.npy")]) == 2
    assert "no/such/file.png" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["patches", "--image", "x", "--num", "5", "--out", "q.npy", "--jpeg-quality", "150"])


def test_paper_image_from_the_mirror(tmp_path, mirror):
    meta = make_patch_set("animals", tmp_path / "a.npy", PatchSpec(size=32), num=30, seed=0,
                          engine="reference", mirror=mirror)
    assert meta["source"]["md5"] == "698627adac672019a1ef04570bb6e7b0" and meta["source"]["width"] == 600
    with pytest.raises(PatchError, match="animals.png.*too small for 224-px"):
        make_patch_set("animals", tmp_path / "b.npy", PatchSpec(size=224), num=3, mirror=mirror)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_fast_engine_on_cuda_matches_cpu(coffee):
    spec = PatchSpec(size=32, jpeg_quality=None)
    cpu = generate(coffee, spec, 200, seed=0, engine="fast")
    gpu = generate(coffee, spec, 200, seed=0, engine="fast", device="cuda")
    assert np.abs(cpu.astype(int) - gpu).mean() < 0.5


@pytest.mark.parametrize("sharded", [False, True])
def test_a_full_disk_is_one_error_naming_the_file_and_leaves_no_temp(tmp_path, coffee, monkeypatch, sharded):
    import errno

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.os, "posix_fallocate", full)
    out = tmp_path / ("shards" if sharded else "p.npy")
    with pytest.raises(fileio.StorageError, match="No space left on device") as info:
        make_patch_set(coffee, out, PatchSpec(size=32), num=20, seed=0, engine="fast",
                       **({"shard_size": 8} if sharded else {}))
    assert str(tmp_path) in str(info.value)
    assert not [p for p in tmp_path.rglob(".*") if ".tmp" in p.name]


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_run(tmp_path, coffee):
    out = tmp_path / "p.npy"
    orphan = tmp_path / ".p.npy.k1ll3d.tmp.npy"
    orphan.write_bytes(b"\0" * 1000)
    make_patch_set(coffee, out, PatchSpec(size=32), num=10, seed=0, engine="fast")
    assert not orphan.exists() and out.is_file()
