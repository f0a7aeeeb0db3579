"""Patchified real images (sources `patchify:dataset:<name>:<n>`, augprior.patches.patchify): the single-image
patch generator over the N training images the raw `dataset:<name>:<n>` source uses, and Table 8's epoch
columns read from a run's curve."""

import json

import numpy as np
import pytest
from PIL import Image

from augprior import config, experiments, tables
from augprior.cells import Cell
from augprior.datasets import subset_indices
from augprior.patches import PatchSpec, load_patch_set
from augprior.patches.patchify import make_patchified_set
from augprior.sources import parse_source

pytestmark = pytest.mark.usefixtures("one_thread")

# one saturated colour per image: which channels are lit tells which image a patch came from
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255)]
SPEC = PatchSpec(size=16, jitter_p=0.0, jpeg_quality=None)  # no jitter / JPEG: colours stay exact


def _colour_folder(root, side=40):
    """<root>/train/<class>/*.png: six images of one colour each, two per class."""
    for i, colour in enumerate(COLOURS):
        d = root / "train" / f"c{i // 2}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((side, side + 6, 3), colour, np.uint8)).save(d / f"{i}.png")
    return f"imagefolder:{root}"


def _lit(patches):
    """Per patch, the tuple of channels that reach full brightness somewhere (black fill never lights one)."""
    return [tuple(int(c) for c in np.flatnonzero(p.reshape(3, -1).max(1) > 200)) for p in patches]


def test_patchified_set_comes_only_from_the_n_chosen_images_and_is_deterministic(tmp_path):
    name = _colour_folder(tmp_path / "data")
    chosen = subset_indices(len(COLOURS), 2).tolist()  # what dataset:<name>:2 trains on
    want = {tuple(int(c) for c in np.flatnonzero(np.array(COLOURS[i]) > 0)) for i in chosen}
    meta = make_patchified_set(name, 2, tmp_path / "a.npy", SPEC, num=40, seed=3, progress=False)
    x = load_patch_set(tmp_path / "a.npy").numpy()
    assert x.shape == (40, 3, 16, 16) and meta["source"]["indices"] == chosen
    lit = _lit(x)
    assert set(lit) == want  # every patch from a chosen image, each chosen image used
    assert meta["source"]["patches_per_image"] == [20, 20]
    assert all(lit[k] == lit[0] for k in range(20)) and all(lit[k] == lit[20] for k in range(20, 40))
    # images are 40 px: enlarged to the 32 px the spec needs (min side 2 x 16) only if smaller (not here)
    assert meta["source"]["min_source_side"] == 32
    make_patchified_set(name, 2, tmp_path / "b.npy", SPEC, num=40, seed=3, progress=False, batch_size=7)
    assert np.array_equal(load_patch_set(tmp_path / "b.npy").numpy(), x)  # any batch size
    make_patchified_set(name, 2, tmp_path / "c.npy", SPEC, num=40, seed=4, progress=False)
    assert not np.array_equal(load_patch_set(tmp_path / "c.npy").numpy(), x)


def test_small_images_are_enlarged_to_what_the_spec_needs(tmp_path):
    imgs = [np.full((8, 8, 3), c, np.uint8) for c in COLOURS[:3]]  # CIFAR-like: smaller than 2 x patch side
    meta = make_patchified_set("<arrays>", 3, tmp_path / "p.npy", SPEC, num=9, seed=0, progress=False, images=imgs)
    x = load_patch_set(tmp_path / "p.npy").numpy()
    assert meta["source"]["patches_per_image"] == [3, 3, 3]
    assert _lit(x) == [(0,)] * 3 + [(1,)] * 3 + [(2,)] * 3


def test_patchify_source_builds_a_patch_job_from_the_raw_rows_images(repo, tmp_path):
    p = config.load(repo / "params.yaml", {"scale": "ci"})
    src = parse_source(p, "patchify:dataset:cifar10_jpeg:100")
    raw = parse_source(p, "dataset:cifar10_jpeg:100")
    assert src.kind == "patchified" and src.input is None and src.datasets == ("cifar10_jpeg",)
    job = src.made_by
    assert job.kind == "patches" and job.spec["patchify"] == {"dataset": "cifar10_jpeg", "n": raw.input["subset"]}
    assert job.spec["patches"] == p["patches"] and job.id.startswith("patchify-cifar10_jpeg-100/")
    assert parse_source(p, "patchify:dataset:cifar10_jpeg:10").made_by.id != job.id
    capped = parse_source({**p, "full_data_subset": 50}, "patchify:dataset:cifar10_jpeg:100").made_by
    assert capped.spec["patchify"]["n"] == 50  # the cap of the raw source applies alike
    name = _colour_folder(tmp_path / "data")
    folder = parse_source(p, f"patchify:dataset:{name}:2").made_by
    assert folder.spec["patchify"] == {"dataset": name, "n": 2}


def _metrics(curve):
    return {"top1": curve[-1][1], "n": 100, "curve": [{"epoch": e, "test_top1": v} if v is not None else {"epoch": e}
                                                      for e, v in curve]}


def test_table8_epoch_columns_are_read_from_the_curve(repo, tmp_path):
    p = config.load(repo / "params.yaml", {"scale": "ci"})
    cells = [c for c in experiments.cells("table8", p) if c.part.startswith("CIFAR-scale analogue")]
    if not cells[0].jobs:
        pytest.skip("CIFAR-10 (JPEG) is not in the cache or mirror here")
    kinds = {c.setting.split(") ", 1)[1].split(",")[0] for c in cells if c.setting.startswith("(")}
    assert {"10 real training images (raw)", "10 real training images patchified (the patch generator over them"} \
        <= kinds
    raw = [c for c in cells if c.setting.startswith("(a, analogue)")]
    assert [c.extra["curve_epoch"] for c in raw] == [2, 4, 6]
    run = tmp_path / tables.job_dir(raw[0].jobs[0])
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(_metrics([(1, None), (2, 11.0), (3, None), (4, 22.5), (5, None),
                                                            (6, 30.0)])))
    df = tables.build_rows(raw, tmp_path)
    assert df.reproduced.tolist() == [11.0, 22.5, 30.0] and df.epochs.tolist() == [2, 4, 6]
    # a curve without the epoch: no number, a note
    (run / "metrics.json").write_text(json.dumps(_metrics([(4, 22.5), (6, 30.0)])))
    df = tables.build_rows(raw, tmp_path)
    assert df.reproduced.isna().tolist() == [True, False, False] and "no test_top1 at epoch 2" in df.notes[0]
    plain = Cell("t", "", "", "cifar10_jpeg", raw[0].jobs)
    assert tables.build_rows([plain], tmp_path).reproduced.tolist() == [30.0]  # no curve_epoch: the final top-1
