"""Audio dataset loaders on tiny files in the official layouts (made here), and FSDD from the mirror."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from augprior.audio.data import SILENCE, UNKNOWN, load_audio_dataset
from augprior.datasets import DATASETS, label
from augprior.manifest import DataError


def tone(path: Path, seconds: float, rate: int, freq: float = 440.0, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format=fmt)
    return path


def test_fsdd_clone_layout_split_labels_and_resampling(tmp_path):
    for d in range(3):
        for spk in ("ann", "bob"):
            for i in range(7):
                tone(tmp_path / "recordings" / f"{d}_{spk}_{i}.wav", 0.5, 8000, 200 + 100 * d)
    tone(tmp_path / "recordings" / "2_cat_0.wav", 0.5, 16000)  # another rate: resampled to 8 kHz
    (tmp_path / "recordings" / "README.txt").write_text("not a recording")
    test = load_audio_dataset(f"fsdd:{tmp_path}", "test")
    train = load_audio_dataset(f"fsdd:{tmp_path}", "train")
    assert (len(test), len(train)) == (3 * 2 * 5 + 1, 3 * 2 * 2)  # index 0-4 of each digit/speaker is test
    assert test.sample_rate == 8000 and test.classes == [str(d) for d in range(10)]
    assert sorted(set(train.labels.tolist())) == [0, 1, 2]
    assert {len(w) for w in test.waves} == {4000}  # the 16 kHz file resampled to 0.5 s at 8 kHz
    assert label(f"fsdd:{tmp_path}") == "FSDD" and DATASETS.meta("fsdd")["audio"]


def test_fsdd_from_the_mirror(mirror):
    test = load_audio_dataset("fsdd", "test", mirror)
    assert len(test) == 300 and test.labels.bincount().tolist() == [30] * 10
    assert all(w.dtype == np.float32 and np.abs(w).max() <= 1.0 for w in test.waves[:20])


def test_speech_commands_twelve_classes(tmp_path):
    for word in ("yes", "no", "bed"):
        for i in range(3):
            tone(tmp_path / word / f"abc{i}_nohash_0.wav", 1.0, 16000)
    tone(tmp_path / "_background_noise_" / "white.wav", 5.5, 16000)  # 5 one-second silence segments
    (tmp_path / "testing_list.txt").write_text("yes/abc0_nohash_0.wav\nbed/abc0_nohash_0.wav\n")
    (tmp_path / "validation_list.txt").write_text("no/abc1_nohash_0.wav\n")
    train = load_audio_dataset(f"speech_commands:{tmp_path}", "train")
    test = load_audio_dataset(f"speech_commands:{tmp_path}", "test")
    assert len(train.classes) == 12 and train.classes[-2:] == [SILENCE, UNKNOWN]
    names = [test.classes[y] for y in test.labels]
    assert sorted(names) == sorted(["yes", UNKNOWN, SILENCE])  # silence: segment 0 of 5 (every 5th) is test
    assert len(train) == 9 - 2 - 1 + 4
    with pytest.raises(DataError, match="testing_list.txt"):
        (tmp_path / "testing_list.txt").unlink()
        load_audio_dataset(f"speech_commands:{tmp_path}", "train")


def test_musan_voxforge_librispeech_layouts(tmp_path):
    for cls, sub in (("music", "fma"), ("noise", "free-sound"), ("speech", "librivox")):
        for i in range(5):
            tone(tmp_path / "musan" / cls / sub / f"{cls}-{i:04d}.wav", 0.2, 16000)
    musan = load_audio_dataset(f"musan:{tmp_path / 'musan'}", "test")
    assert musan.classes == ["music", "noise", "speech"] and musan.labels.tolist() == [0, 1, 2]
    for lang in ("de", "en"):
        for sub in range(5):
            for i in range(2):
                tone(tmp_path / "vox" / lang / f"user{sub}-20100101-abc" / "wav" / f"a{i}.wav", 0.2, 48000)
    vox_train = load_audio_dataset(f"voxforge:{tmp_path / 'vox'}", "train")
    vox_test = load_audio_dataset(f"voxforge:{tmp_path / 'vox'}", "test")
    assert (len(vox_train), len(vox_test)) == (2 * 4 * 2, 2 * 1 * 2)  # one submission in 5 is test (speaker-disjoint)
    assert vox_test.sample_rate == 16000 and {len(w) for w in vox_test.waves} == {3200}
    base = tmp_path / "ls" / "LibriSpeech" / "train-clean-100"
    for spk in ("1034", "19", "103"):
        for i in range(5):
            tone(base / spk / "198" / f"{spk}-198-{i:04d}.flac", 0.2, 16000, fmt="FLAC")
    ls = load_audio_dataset(f"librispeech:{tmp_path / 'ls'}", "test")
    assert ls.classes == ["19", "103", "1034"] and ls.labels.tolist() == [0, 1, 2]


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_audio_dataset(f"musan:{tmp_path / 'nope'}", "train")
    with pytest.raises(DataError, match="speech_commands:/path/to/root"):
        load_audio_dataset("speech_commands", "train")
    with pytest.raises(DataError, match="unknown audio dataset"):
        load_audio_dataset("esc50:/x", "train")
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "0_ann_0.wav").write_bytes(b"RIFF not really")
    with pytest.raises(DataError, match="cannot decode audio"):
        load_audio_dataset(f"fsdd:{tmp_path}", "test")
