"""Table 6's video path on tiny inputs: fake videos of City, UCF-101 / Kinetics-400 layouts with real
containers written here (PyAV), the X3D teacher's evaluation, a few distillation steps, exact resume."""

import csv
import json
import os
import signal
import urllib.error

import numpy as np
import pytest
import torch

from augprior import config, experiments
from augprior.checkpoint import load_model, save_model
from augprior.manifest import DataError
from augprior.models import build_model, param_count
from augprior.video import datasets as vd
from augprior.video import fakevideo as fv
from augprior.video import train as vt

TINY = "x3d_w1_d1_s32"  # X3D with width/depth factor 1 at 32 px: a fast stand-in for X3D-XS
CLASSES = ["ApplyEyeMakeup", "Basketball", "YoYo"]


def write_video(path, frames: int, *, fps: int = 25, size=(48, 64), codec="mpeg4", shift: int = 0):
    """A real container: frame k is a flat grey of level 8k (+ shift), so clip starts can be read back."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for k in range(frames):
            img = np.full((*size, 3), min(255, 8 * k + shift), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    root = tmp_path_factory.mktemp("ucf101")
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    train, test = [], []
    for i, c in enumerate(CLASSES):
        for g in (1, 2):
            rel = f"{c}/v_{c}_g0{g}_c01.avi"
            write_video(root / "UCF-101" / rel, 30, shift=20 * i)
            (test if g == 1 else train).append(rel)
    (lists / "trainlist01.txt").write_text("".join(f"{r} {CLASSES.index(r.split('/')[0]) + 1}\n" for r in train))
    (lists / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    return root


def test_ucf101_official_layout(ucf):
    test = vd.load_ucf101(ucf, "test")
    assert test.classes == CLASSES and len(test) == 3 and test.labels.tolist() == [0, 1, 2]
    assert [p.name for p in test.paths] == [f"v_{c}_g01_c01.avi" for c in CLASSES]
    train = vd.load_ucf101(ucf, "train")
    assert train.labels.tolist() == [0, 1, 2] and all("_g02_" in p.name for p in train.paths)
    with pytest.raises(DataError, match="testlist02.txt: missing"):
        vd.load_ucf101(ucf, "test", fold=2)
    with pytest.raises(DataError, match="extract UCF101.rar"):
        vd.load_ucf101(ucf / "nowhere", "test")


def test_kinetics400_csv_layout_counts_missing_clips(tmp_path):
    rows = [("abseiling", "aaaaaaaaaaa", 10, 20), ("zumba", "bbbbbbbbbbb", 0, 10), ("zumba", "ccccccccccc", 5, 15)]
    (tmp_path / "annotations").mkdir()
    with open(tmp_path / "annotations" / "validate.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        w.writerows([(*r, "val") for r in rows])
    write_video(tmp_path / "val" / "abseiling" / "aaaaaaaaaaa_000010_000020.mp4", 12, codec="libx264", fps=30)
    write_video(tmp_path / "val" / "bbbbbbbbbbb_000000_000010.mp4", 12, codec="libx264", fps=30)  # flat layout
    data = vd.load_kinetics400(tmp_path, "val")
    assert data.classes == ["abseiling", "zumba"] and data.labels.tolist() == [0, 1] and data.missing == 1
    (tmp_path / "annotations" / "train.csv").write_text("label,youtube_id,time_start,time_end,split\n"
                                                        "archery,ddddddddddd,0,10,train\n")
    data = vd.load_kinetics400(tmp_path, "val")  # a class the split lacks keeps the indices of the full list
    assert data.classes == ["abseiling", "archery", "zumba"] and data.labels.tolist() == [0, 2]
    frames, times = vd.decode_video(data.paths[0])
    assert frames.shape == (12, 48, 64, 3) and np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    assert vd.decode_video(data.paths[0], short_side=36)[0].shape == (12, 36, 48, 3)  # scaled on decoding


def test_ten_temporal_clips_follow_the_constant_clips_sampler(ucf):
    frames, times = vd.decode_video(vd.load_ucf101(ucf, "test").paths[0])
    assert frames.shape[0] == 30
    clips = vd.test_clips(frames, times, clips=10, frames_per_clip=4, clip_seconds=4 * 3 / 25)  # 12 frames a clip
    assert clips.shape == (10, 4, 48, 64, 3)
    level = clips.mean(axis=(2, 3, 4)) / 8  # ~ the frame number
    starts = np.round(level[:, 0])
    assert np.allclose(starts, [round(c * 18 / 10) for c in range(10)], atol=1)  # start c * (30 - 12) / 10 frames
    assert np.all(np.diff(level, axis=1) > 2)  # 4 frames spread over the clip's 12
    x = vd.resize_center_crop(torch.from_numpy(clips), 36, 32)
    assert x.shape == (10, 3, 4, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1


@pytest.fixture(scope="module")
def mirror():
    """The offline mirror (for the City image), module-wide; skipped without it."""
    path = os.environ.get("AUGPRIOR_MIRROR")
    if not path or not os.path.isfile(os.path.join(path, "images", "ameyoko.jpg")):
        pytest.skip("AUGPRIOR_MIRROR is not set to a mirror holding images/ameyoko.jpg (City)")
    return os.path.realpath(path)


@pytest.fixture(scope="module")
def city(mirror):
    return fv.load_image("city", mirror)


def test_fake_videos_of_city_are_a_function_of_seed_and_index(city, tmp_path):
    img, src = city
    assert img.size == (2560, 1920) and src["image_md5"] == "7f1cf22141676bf5e5218106f07b9dab"
    spec = fv.FakeVideoSpec(frames=4, size=40)
    a, b = fv.render_clip(img, spec, 3), fv.render_clip(img, spec, 3)
    assert a.shape == (4, 40, 40, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, fv.render_clip(img, spec, 4))
    assert not np.array_equal(a, fv.render_clip(img, fv.FakeVideoSpec(frames=4, size=40, seed=1), 3))
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    fv.render_clip(img, spec, 0)
    assert torch.rand(1) == before  # the global RNG is left alone
    # a static box (the same crop at both ends) gives identical frames: the motion is the box's alone
    still = fv.FakeVideoSpec(frames=3, size=24, scale=(1.0, 1.0), initcrop=0.01)
    clip = fv.render_clip(img, still, 0)
    assert np.array_equal(clip[0], clip[-1])


def test_stored_fake_videos_resume_to_the_same_bytes(city, tmp_path, monkeypatch):
    img, _ = city
    spec = fv.FakeVideoSpec(frames=3, size=24)
    out = tmp_path / "fake.npy"
    real = fv._render_range
    calls = []

    def dies_on_second_chunk(start, stop):
        calls.append(start)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(start, stop)

    monkeypatch.setattr(fv, "_render_range", dies_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        fv.write_fakevideos(out, "city", spec, 5, chunk=2)
    assert not out.exists() and not fv.meta_path(out).exists()  # nothing looks complete
    monkeypatch.setattr(fv, "_render_range", real)
    meta = fv.write_fakevideos(out, "city", spec, 5, chunk=2)
    arr, saved = fv.load_fakevideos(out)
    assert arr.shape == (5, 3, 24, 24, 3) and saved["num"] == 5 and meta["image"] == "city"
    expected = np.stack([fv.render_clip(img, spec, k) for k in range(5)])
    assert np.array_equal(arr, expected)
    fv.write_fakevideos(tmp_path / "two.npy", "city", spec, 5, chunk=2, workers=2)
    assert np.array_equal(fv.load_fakevideos(tmp_path / "two.npy")[0], expected)  # any worker count


def test_x3d_architectures():
    assert param_count(build_model("x3d_xs", 400)) == 3_794_274  # X3D-XS
    assert round(param_count(build_model("x3d_xs_expanded", 101)) / 1e6, 1) == 18.1  # the paper's 18.1M
    with pytest.raises(ValueError, match="multiple of 32"):
        build_model("x3d_w1_d1_s40", 3)


def test_hub_teacher_offline_is_one_line(monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(DataError, match=r"cannot download the Kinetics-400 X3D-XS weights .*X3D_XS.pyth"):
        build_model("x3d_xs", 400, pretrained=True)
    with pytest.raises(ValueError, match="Kinetics-400 model"):
        vt.load_teacher("hub", "x3d_xs", 101)


def test_teacher_weights_fit_pytorchvideos_hub_model_and_the_official_checkpoints(monkeypatch, tmp_path):
    from pytorchvideo.models.hub.x3d import x3d_xs

    hub = x3d_xs(pretrained=False)  # the architecture pytorchvideo's Kinetics-400 file was saved from
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: {"model_state": hub.state_dict()})
    model = build_model("x3d_xs", 400, pretrained=True)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), hub.state_dict().values()))
    # the official video/distiller.py loads its UCF-101 teacher from a Lightning checkpoint ("model." keys)
    tiny = build_model(TINY, 3)
    torch.save({"state_dict": {f"model.{k}": v for k, v in tiny.state_dict().items()}}, tmp_path / "last.ckpt")
    loaded = vt.load_teacher(f"checkpoint:{tmp_path / 'last.ckpt'}", TINY, 3)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), tiny.state_dict().values()))


def test_augmix_runs_with_todays_torchvision():
    aug = vt.enable_augmix()()
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    assert aug(x).shape == x.shape


def _cfg(**kw):
    cfg = {"teacher": TINY, "student": TINY, "epochs": 2, "batch_size": 4, "warmup_epochs": 1, "workers": 0,
           "short_side": [36, 44], "test_short_side": 36, "test_clips": 2, "test_batch_size": 2,
           "fake": {"num": 8, "frames": 6, "size": 48, "store": False}}
    return config.deep_merge(cfg, kw) if kw else cfg


@pytest.fixture(scope="module")
def teacher(ucf, tmp_path_factory, mirror):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("teacher") / "tiny.pt"
    save_model(path, build_model(TINY, len(CLASSES)), arch=TINY, num_classes=len(CLASSES), in_chans=3)
    job = {"dataset": "ucf101", "data_root": str(ucf), "source": f"checkpoint:{path}", "seed": 0, "scale": "ci",
           "device": "cpu", "precision": "fp32", "mirror": str(mirror), "video": _cfg()}
    out = path.parent / "run"
    metrics = vt.video_teacher(job, out)
    return out, metrics


def test_video_teacher_evaluates_a_checkpoint(teacher):
    out, metrics = teacher
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["top1"] == metrics["top1"] and saved["test"]["videos"] == 3 and saved["provenance"]["params_hash"]
    model, meta = load_model(out / "model.pt")
    assert meta["arch"] == TINY and meta["num_classes"] == 3 and meta["classes"] == CLASSES


def test_finetuned_teacher_gets_a_new_head_and_trains(ucf, tmp_path, mirror, one_thread):
    torch.manual_seed(1)
    base = tmp_path / "k400_tiny.pt"
    torch.save(build_model(TINY, 400).state_dict(), base)  # a bare Kinetics-style state dict
    job = {"dataset": "ucf101", "data_root": str(ucf), "source": f"finetune:checkpoint:{base}", "seed": 0,
           "scale": "ci", "device": "cpu", "precision": "fp32", "mirror": str(mirror),
           "video": _cfg(finetune={"epochs": 2, "batch_size": 2, "warmup_epochs": 0})}
    metrics = vt.video_teacher(job, tmp_path / "ft")
    assert metrics["finetune"]["steps"] == 2 and metrics["finetune"]["train_videos"] == 3
    assert len(metrics["curve"]) == 2 and all(np.isfinite(p["train_loss"]) for p in metrics["curve"])
    model, meta = load_model(tmp_path / "ft" / "model.pt")
    assert meta["num_classes"] == 3 and model.blocks[-1].proj.out_features == 3
    before = build_model(TINY, 400)
    before.load_state_dict(torch.load(base))
    assert not torch.equal(model.blocks[0].conv.conv_t.weight, before.blocks[0].conv.conv_t.weight)  # trained


def _distill_job(teacher, ucf, mirror, **kw):
    return {"dataset": "ucf101", "data_root": str(ucf), "teacher_path": str(teacher[0] / "model.pt"), "seed": 0,
            "scale": "ci", "device": "cpu", "precision": "fp32", "mirror": str(mirror), "video": _cfg(**kw)}


def test_video_distillation_steps_stored_clips_and_exact_resume(teacher, ucf, mirror, tmp_path, monkeypatch, one_thread):
    job = _distill_job(teacher, ucf, mirror)
    full = vt.video_distill(job, tmp_path / "full")
    assert full["steps"] == 4 and len(full["curve"]) == 2 and full["input"]["image"] == "city"
    assert all(np.isfinite(p["train_loss"]) for p in full["curve"]) and full["test"]["videos"] == 3
    assert full["curve"][0]["lr"] == pytest.approx(1e-3) and full["curve"][1]["lr"] == 0  # warm-up, then cosine
    student, meta = load_model(tmp_path / "full" / "student.pt")
    assert meta["arch"] == TINY and meta["dataset"] == "ucf101"

    real, calls = vt.cutmix, []

    def preempt(x, gen, beta):  # SIGTERM during the third step: checkpoint at the next boundary, exit 143
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(x, gen, beta)

    # the same clips from a stored set (same bytes as on the fly), stopped by SIGTERM and resumed
    fake = job["video"]["fake"]
    spec = fv.FakeVideoSpec(frames=fake["frames"], size=fake["size"])
    fv.write_fakevideos(tmp_path / "fake.npy", "city", spec, fake["num"], mirror=mirror)
    job = dict(job, fakevideos_path=str(tmp_path / "fake.npy"))
    monkeypatch.setattr(vt, "cutmix", preempt)
    with pytest.raises(SystemExit) as stop:
        vt.video_distill(job, tmp_path / "resumed")
    assert stop.value.code == 143 and (tmp_path / "resumed" / "state.pt").exists()
    monkeypatch.setattr(vt, "cutmix", real)
    resumed = vt.video_distill(job, tmp_path / "resumed")
    assert resumed["resumes"] and [p["train_loss"] for p in resumed["curve"]] == [p["train_loss"] for p in full["curve"]]
    a, _ = load_model(tmp_path / "resumed" / "student.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), student.state_dict().values()))


def test_table6_cells_empty_with_reasons_here_and_planned_at_paper_scale(repo, tmp_path):
    ci = experiments.cells("table6", config.load(repo / "params.yaml", {"scale": "ci"}))
    assert [c.paper for c in ci] == [90.4, 75.2, 67.8, 51.8]
    assert all(not c.jobs and c.reason for c in ci)
    assert all("is not here" in c.reason for c in ci)
    paper = experiments.cells("table6", config.load(repo / "params.yaml", {"scale": "paper"}))
    assert [j.kind for c in paper for j in c.jobs] == ["video_teacher", "video_distill"] * 2
    assert paper[0].jobs[0].spec["source"] == "finetune:hub" and paper[2].jobs[0].spec["source"] == "hub"
    k400 = [c for c in paper if c.part == "Kinetics-400"]
    distill = k400[1].jobs[0]
    assert {j.kind for j in distill.needs} == {"video_teacher", "fakevideos"}
    assert distill.spec["video"]["epochs"] == 400 and distill.spec["video"]["fake"]["num"] == 200000
    # a user's UCF-101 checkpoint and folder give the UCF-101 row its jobs
    ckpt = tmp_path / "ucf_teacher.pt"
    ckpt.write_bytes(b"x")
    params = config.load(repo / "params.yaml", {"scale": "ci", "table6.teachers.ucf101": f"checkpoint:{ckpt}",
                                                "table6.roots.ucf101": str(tmp_path)})
    ucf_cells = experiments.cells("table6", params)[:2]
    assert all(c.jobs for c in ucf_cells) and ucf_cells[0].jobs[0].spec["checkpoint_path"] == str(ckpt)
