"""Audio: the 14 augmentations, the clip set, log-Mel features, the audio CNN, and a few real steps of the
teacher, distillation and whole-clip evaluation."""

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from augprior.audio import augment, clipset, sources
from augprior.audio.features import LogMel, segments
from augprior.manifest import DataError
from augprior.models import build_model, param_count

RATE = 8000


def signal(seconds: float = 2.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    x = 0.3 * np.sin(2 * np.pi * 300 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.2 * np.sin(2 * np.pi * 2500 * t)
    return (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_augmentations_change_the_signal_and_are_deterministic():
    x = signal()
    identity_at_augly_defaults = {"change_volume", "clip"}  # volume 0 dB; clip offset 0, duration 1
    for name in augment.AUGMENTATIONS:
        y = augment.apply(name, x, RATE, seed=3)
        assert y.dtype == np.float32 and np.array_equal(y, augment.apply(name, x, RATE, seed=3)), name
        if name in identity_at_augly_defaults:
            assert np.array_equal(y, x), name
            continue
        n = min(len(x), len(y))
        assert np.abs(y[:n] - x[:n]).mean() > 1e-3, f"{name} left the signal unchanged"
    assert len(augment.apply("speed", x, RATE, 0)) == len(x) // 2
    assert abs(len(augment.apply("time_stretch", x, RATE, 0)) - len(x) / 1.5) < 2
    assert np.abs(augment.apply("normalize", x, RATE, 0)).max() == pytest.approx(1.0)
    noisy = [augment.apply("add_background_noise", x, RATE, s) for s in (1, 2)]
    assert not np.array_equal(*noisy)
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((noisy[0] - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.5)  # AugLy's default SNR
    low = augment.apply("low_pass_filter", x, RATE, 0)
    spec = np.abs(np.fft.rfft(low)) / np.abs(np.fft.rfft(x)).clip(1e-9)
    assert spec[2500 * 2] < 0.1  # the 2.5 kHz tone is cut by the 500 Hz low-pass
    with pytest.raises(ValueError, match="unknown audio augmentation"):
        augment.apply("chorus", x, RATE, 0)


def test_reverb_without_sox_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(augment.shutil, "which", lambda name: None)
    assert "sox" in augment.missing_programs()
    with pytest.raises(augment.AugmentError, match="Debian package sox"):
        augment._sox("reverb")(signal(), RATE, 0)


def write_clip(path, seconds=6.0, rate=16000):
    sf.write(path, signal(seconds, rate), rate)
    return path


def test_clip_set_is_deterministic_for_any_worker_count_and_resumes(tmp_path, monkeypatch):
    src = str(write_clip(tmp_path / "user.wav"))
    one = clipset.make_clip_set(src, tmp_path / "a" / "clips.npy", num=24, sample_rate=RATE, seed=5)
    two = clipset.make_clip_set(src, tmp_path / "b" / "clips.npy", num=24, sample_rate=RATE, seed=5, workers=2)
    a, meta = clipset.load_clip_set(tmp_path / "a" / "clips.npy")
    b, _ = clipset.load_clip_set(tmp_path / "b" / "clips.npy")
    assert a.shape == (24, 2 * RATE) and a.dtype == np.float16 and np.array_equal(a, b)
    assert one["augmentations"] == two["augmentations"] and one["lengths"] == two["lengths"]
    assert meta["source_description"] == "user clip user.wav" and (tmp_path / "a" / "source.wav").is_file()
    for name, n in zip(meta["augmentations"], meta["lengths"]):  # speed and time-stretch shorten the crop
        assert abs(n - {"speed": RATE, "time_stretch": 2 * RATE / 1.5}.get(name, 2 * RATE)) < 2, name
    other = clipset.make_clip_set(src, tmp_path / "c" / "clips.npy", num=24, sample_rate=RATE, seed=6)
    assert other["augmentations"] != one["augmentations"]

    # killed after the first chunk: no clips.json, and the rerun resumes to the same bytes
    monkeypatch.setattr(clipset, "CHUNK", 8)
    real = clipset._chunk
    calls = []

    def dying(task):
        calls.append(task[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(clipset, "_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        clipset.make_clip_set(src, tmp_path / "d" / "clips.npy", num=24, sample_rate=RATE, seed=5)
    assert not (tmp_path / "d" / "clips.json").exists()
    with pytest.raises(FileNotFoundError, match="no complete clip set"):
        clipset.load_clip_set(tmp_path / "d" / "clips.npy")
    monkeypatch.setattr(clipset, "_chunk", real)
    resumed = clipset.make_clip_set(src, tmp_path / "d" / "clips.npy", num=24, sample_rate=RATE, seed=5)
    assert resumed["resumed"] and np.array_equal(clipset.load_clip_set(tmp_path / "d" / "clips.npy")[0], a)


def test_clip_sources():
    with pytest.raises(DataError, match="unknown audio clip source"):
        sources.parse_clip_source("bbc_news")
    assert "does not exist" in sources.unavailable("/no/such/clip.flac")
    assert sources.parse_clip_source("music:frontiers").path.name == "frontiers.mp3"
    if shutil.which(sources.ESPEAK) is None:
        assert "espeak-ng" in sources.unavailable("speech_en")
        return
    en = sources.synthesize("speech_en", 4.0, seed=1)
    assert len(en) == 4 * sources.SYNTH_RATE and np.array_equal(en, sources.synthesize("speech_en", 4.0, seed=1))
    de = sources.load_clip("speech_germanic", RATE, 3.0)
    assert len(de) == 3 * RATE and de.std() > 0.01


def test_logmel_and_the_audio_cnn_shapes():
    for rate in (8000, 16000):
        x = LogMel(rate)(torch.randn(3, rate))
        assert x.shape == (3, 1, 64, 101)  # 64 Mel bins, 10 ms hop over 1 s
    model = build_model("audio_cnn", 12, 1)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs if c.kernel_size == (1, 1)] == [24, 32, 64, 128]
    assert {c.kernel_size for c in convs} == {(1, 4), (4, 1), (1, 1)}
    assert sum(isinstance(m, torch.nn.Dropout2d) for m in model.modules()) == 3
    assert model(torch.randn(2, 1, 64, 101)).shape == (2, 12)
    slim = build_model("audio_cnn_s4", 10, 1)
    assert param_count(slim) < param_count(build_model("audio_cnn", 10, 1)) / 10
    from augprior.audio.model import l2_penalty

    assert float(l2_penalty(model, 1e-4).detach()) > 0
    assert segments(torch.arange(25.0), 10).shape == (3, 10) and segments(torch.ones(4), 10).shape == (1, 10)


def _tiny_fsdd(root, per=7):
    """10 digits x 1 speaker x `per` recordings of a digit-specific tone (indices 0-4 are test)."""
    (root / "recordings").mkdir(parents=True)
    t = np.arange(RATE // 2) / RATE
    for d in range(10):
        for i in range(per):
            sf.write(root / "recordings" / f"{d}_ann_{i}.wav",
                     (0.4 * np.sin(2 * np.pi * (200 + 150 * d) * t)).astype(np.float32), RATE)


def test_teacher_distillation_and_whole_clip_evaluation(tmp_path, one_thread):
    from augprior.audio.train import clip_logits, distill_audio, train_audio_teacher

    _tiny_fsdd(tmp_path / "fsdd")
    dataset = f"fsdd:{tmp_path / 'fsdd'}"
    base = {"seed": 0, "scale": "test", "device": "cpu", "precision": "fp32", "mirror": None, "num_threads": 1,
            "dataset": dataset}
    tcfg = {"arch": "audio_cnn_s8", "epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "lr": 3e-3, "l2": 1e-4,
            "crop_seconds": 1.0, "train_subset": None, "eval_every": 1}
    tm = train_audio_teacher({**base, "audio_teacher": tcfg}, tmp_path / "teacher")
    assert tm["n"] == 50 and 0 <= tm["top1"] <= 100 and len(tm["curve"]) == 2 and "test_top1" in tm["curve"][0]
    assert tm["provenance"]["seed"] == 0 and (tmp_path / "teacher" / "model.pt").is_file()

    src = str(write_clip(tmp_path / "clip.wav"))
    clipset.make_clip_set(src, tmp_path / "clips" / "clips.npy", num=16, sample_rate=RATE)
    dcfg = {"student": "audio_cnn_s8", "epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "lr": 1e-3, "l2": 1e-4,
            "temperature": 8.0, "mixup": True, "crop_seconds": 1.0, "full_data_subset": None, "eval_every": 0}
    job = {**base, "audio_distill": dcfg, "teacher_path": str(tmp_path / "teacher" / "model.pt"), "source": src,
           "clips_path": str(tmp_path / "clips" / "clips.npy")}
    dm = distill_audio(job, tmp_path / "student")
    assert dm["clips"] == 16 and dm["teacher_top1"] == pytest.approx(tm["top1"]) and 0 <= dm["agreement"] <= 100
    assert (tmp_path / "student" / "student.pt").is_file() and not (tmp_path / "student" / "state.pt").exists()
    full = distill_audio({**job, "source": f"dataset:{dataset}", "clips_path": None}, tmp_path / "full")
    assert full["clips"] == 20 and full["source_description"].startswith("the FSDD training clips")

    from augprior.audio.data import load_audio_dataset
    from augprior.checkpoint import load_model

    test = load_audio_dataset(dataset, "test")
    test.waves[0] = np.concatenate([test.waves[0]] * 5)  # 2.5 s: three 1-s segments, averaged
    model, _ = load_model(tmp_path / "teacher" / "model.pt")
    feats = LogMel(RATE)
    logits = clip_logits(model, feats, test, torch.device("cpu"))
    with torch.no_grad():
        probs = torch.softmax(model(feats(segments(torch.from_numpy(test.waves[0]), RATE))), 1).mean(0)
    assert logits.shape == (50, 10) and torch.allclose(logits[0].exp(), probs, atol=1e-5)


def test_table5_plan(repo, tmp_path, monkeypatch):
    from augprior import config, experiments
    from augprior.jobs import closure

    params = config.load(repo / "params.yaml", {"scale": "ci", "data.mirror": str(tmp_path)})
    cells = experiments.cells("table5", params)
    fsdd = [c for c in cells if c.dataset == "fsdd"]
    assert len(fsdd) == 5 and all(c.paper is None for c in fsdd)
    assert all("not offline here" in c.reason and not c.jobs for c in cells if c.dataset != "fsdd")
    assert {c.setting: c.paper for c in cells if c.part.startswith("MUSAN")}["teacher (supervised)"] == 98.76
    (tmp_path / "musan").mkdir()
    params["table5"]["roots"]["musan"] = str(tmp_path / "musan")
    planned = [c for c in experiments.cells("table5", params) if c.part.startswith("MUSAN")]
    assert all(c.jobs and c.jobs[0].spec["dataset"] == f"musan:{tmp_path / 'musan'}" for c in planned)
    jobs = closure([j for c in planned for j in c.jobs])
    assert len(jobs["audio_teacher"]) == 1 and len(jobs["audio_clips"]) == 3 and len(jobs["audio_distill"]) == 4
    assert {j.spec["sample_rate"] for j in jobs["audio_clips"].values()} == {16000}
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)  # no espeak-ng, no sox on this machine
    clip_a = next(c for c in experiments.cells("table5", params) if c.part.startswith("MUSAN")
                  and c.setting.startswith("1 clip A"))
    assert not clip_a.jobs and "espeak-ng is not installed" in clip_a.reason
