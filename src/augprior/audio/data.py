"""Labelled audio datasets: float32 mono waveforms at the dataset's sample rate, int64 labels.

Names (`load_audio_dataset(name, split, mirror)`):
  fsdd                       Free Spoken Digit Dataset from the manifest (mirror tarball, 10 digits, 8 kHz);
                             the usual split: recordings 0-4 of each digit and speaker are test
  fsdd:/path/to/clone        the same from a git clone (root/recordings/{digit}_{speaker}_{index}.wav)
  speech_commands:/root      Speech Commands v0.02 extracted (root/<word>/*.wav, testing_list.txt,
                             validation_list.txt, _background_noise_/): the 12-class task (yes, no, up,
                             down, left, right, on, off, stop, go, _silence_, _unknown_)
  musan:/root                MUSAN extracted (root/{music,noise,speech}/<subset>/**/*.wav): 3 classes
  voxforge:/root             Voxforge (root/<language>/<submission>/wav/*.wav): one class per language
  librispeech:/root          LibriSpeech train-clean-100 extracted (root[/LibriSpeech]/train-clean-100/
                             <speaker>/<chapter>/*.flac): the first 100 speakers (by id) as classes

Splits without an official test list are fixed by file order, documented per loader: every 5th item
(index % 5 == 0 of the sorted list) is test, so the split is the same on every machine. Files at another
sample rate are resampled (soxr) to the dataset's rate.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import manifest
from ..datasets import DATASETS
from ..manifest import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
SPEECH_COMMANDS_WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
SILENCE, UNKNOWN, BACKGROUND = "_silence_", "_unknown_", "_background_noise_"
TEST_EVERY = 5  # splits fixed by file order: item i is test when i % TEST_EVERY == 0


@dataclass
class AudioDataset:
    """A labelled split: `waves[i]` is a float32 mono array at `sample_rate`."""

    name: str
    split: str
    waves: list[np.ndarray]
    labels: torch.Tensor
    classes: list[str]
    sample_rate: int

    def __len__(self) -> int:
        return len(self.waves)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, n: int) -> "AudioDataset":
        """A fixed seeded sample of `n` clips spread over the set (datasets.subset_indices)."""
        from ..datasets import subset_indices

        idx = subset_indices(len(self), n)
        return AudioDataset(self.name, self.split, [self.waves[i] for i in idx.tolist()], self.labels[idx],
                            self.classes, self.sample_rate)


def to_mono(x: np.ndarray) -> np.ndarray:
    return (x.mean(axis=1) if x.ndim == 2 else x).astype(np.float32, copy=False)


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return x.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(x, rate, target, quality="HQ").astype(np.float32, copy=False)


def read_audio(path: str | os.PathLike | io.BytesIO, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """A mono float32 waveform (and its rate), resampled to `sample_rate` when given (soundfile reads
    wav, flac, ogg and mp3)."""
    import soundfile as sf

    try:
        x, rate = sf.read(path, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise DataError(f"{path}: cannot decode audio ({' '.join(str(err).split())}); expected "
                        f"{', '.join(AUDIO_EXTENSIONS)}") from None
    x = to_mono(np.asarray(x))
    if x.size == 0:
        raise DataError(f"{path}: no audio samples")
    if sample_rate:
        return resample(x, rate, sample_rate), sample_rate
    return x, int(rate)


def _files(root: Path, pattern: str = "**/*") -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def _need_dir(root: Path, what: str) -> Path:
    if not root.is_dir():
        raise DataError(f"{root}: no such directory (expected {what})")
    return root


def _by_order(items: list, split: str) -> list:
    return [x for i, x in enumerate(items) if (i % TEST_EVERY == 0) == (split == "test")]


# -- FSDD -----------------------------------------------------------------------------------------
FSDD_NAME = re.compile(r"(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<index>\d+)\.wav$")
FSDD_CLASSES = [str(d) for d in range(10)]


def _fsdd_pick(names: list[str], split: str) -> list[tuple[str, int]]:
    out = []
    for n in sorted(names):
        m = FSDD_NAME.search(n)
        if m and (int(m["index"]) < 5) == (split == "test"):
            out.append((n, int(m["digit"])))
    return out


def _fsdd_tar(archive: Path, split: str, rate: int):
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile() and m.name.startswith("recordings/")}
        picked = _fsdd_pick(list(members), split)
        if not picked:
            raise DataError(f"{archive}: no recordings/{{digit}}_{{speaker}}_{{index}}.wav files inside")
        waves = [read_audio(io.BytesIO(tar.extractfile(members[n]).read()), rate)[0] for n, _ in picked]
    return waves, [y for _, y in picked]


def _fsdd_dir(root: Path, split: str, rate: int):
    rec = _need_dir(root / "recordings", "a free-spoken-digit-dataset clone with recordings/*.wav")
    picked = _fsdd_pick([p.name for p in rec.glob("*.wav")], split)
    if not picked:
        raise DataError(f"{rec}: no {{digit}}_{{speaker}}_{{index}}.wav files")
    return [read_audio(rec / n, rate)[0] for n, _ in picked], [y for _, y in picked]


# -- datasets in their extracted official layouts -------------------------------------------------
def _speech_commands(root: Path, split: str, rate: int):
    """Train: the files in neither testing_list.txt nor validation_list.txt; test: testing_list.txt.
    Other words are _unknown_; _silence_ is 1-s segments of _background_noise_/*.wav, every 5th test."""
    _need_dir(root, "Speech Commands v0.02 extracted: <word>/*.wav, testing_list.txt, validation_list.txt")
    lists = {}
    for name in ("testing_list.txt", "validation_list.txt"):
        path = root / name
        if not path.is_file():
            raise DataError(f"{root}: no {name} (expected the extracted speech_commands_v0.02 archive)")
        lists[name] = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    classes = SPEECH_COMMANDS_WORDS + [SILENCE, UNKNOWN]
    waves, labels = [], []
    for path in _files(root, "*/*.wav"):
        word = path.parent.name
        if word == BACKGROUND:
            continue
        rel = f"{word}/{path.name}"
        in_test, in_val = rel in lists["testing_list.txt"], rel in lists["validation_list.txt"]
        if (split == "test" and in_test) or (split == "train" and not in_test and not in_val):
            waves.append(read_audio(path, rate)[0])
            labels.append(classes.index(word) if word in SPEECH_COMMANDS_WORDS else classes.index(UNKNOWN))
    segments = []
    for path in _files(root / BACKGROUND, "*.wav") if (root / BACKGROUND).is_dir() else []:
        x = read_audio(path, rate)[0]
        segments += [x[i:i + rate] for i in range(0, len(x) - rate + 1, rate)]
    for x in _by_order(segments, split):
        waves.append(x)
        labels.append(classes.index(SILENCE))
    return waves, labels, classes


def _class_folders(root: Path, split: str, rate: int, pattern: str, what: str, group: Callable[[Path], str]):
    """root/<class>/...: files (sorted) grouped by `group` (a speaker or submission), groups split by order."""
    _need_dir(root, what)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class folders (expected {what})")
    waves, labels = [], []
    for ci, cls in enumerate(classes):
        files = _files(root / cls, pattern)
        groups = sorted({group(p) for p in files})
        keep = set(_by_order(groups, split))
        for p in files:
            if group(p) in keep:
                waves.append(read_audio(p, rate)[0])
                labels.append(ci)
    if not waves:
        raise DataError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) for split {split} (expected {what})")
    return waves, labels, classes


def _musan(root: Path, split: str, rate: int):
    """Every 5th file (sorted by path) of each class is test."""
    return _class_folders(root, split, rate, "**/*", "MUSAN extracted: music/, noise/, speech/ with *.wav",
                          lambda p: str(p))


def _voxforge(root: Path, split: str, rate: int):
    """Split by submission (speaker-disjoint): every 5th submission of each language is test."""
    return _class_folders(root, split, rate, "*/wav/*", "Voxforge: <language>/<submission>/wav/*.wav",
                          lambda p: p.parent.parent.name)


def _librispeech(root: Path, split: str, rate: int, speakers: int = 100):
    """The first 100 speakers (numeric id order) of train-clean-100; every 5th utterance of each is test."""
    base = next((d for d in (root / "LibriSpeech" / "train-clean-100", root / "train-clean-100", root)
                 if d.is_dir() and any(c.name.isdigit() for c in d.iterdir())), None)
    if base is None:
        raise DataError(f"{root}: no train-clean-100/<speaker>/<chapter>/*.flac (expected LibriSpeech extracted)")
    ids = sorted((d.name for d in base.iterdir() if d.is_dir() and d.name.isdigit()), key=int)[:speakers]
    waves, labels = [], []
    for ci, spk in enumerate(ids):
        for p in _by_order(_files(base / spk, "*/*.flac"), split):
            waves.append(read_audio(p, rate)[0])
            labels.append(ci)
    return waves, labels, ids


@dataclass(frozen=True)
class AudioSpec:
    label: str
    sample_rate: int
    num_classes: int
    url: str  # where the official data comes from


# name -> how to read it; `fsdd` is also a manifest dataset (mirror tarball)
AUDIO: dict[str, AudioSpec] = {
    "fsdd": AudioSpec("FSDD", 8000, 10, "https://github.com/Jakobovski/free-spoken-digit-dataset (commit 26eb9aa)"),
    "speech_commands": AudioSpec("Speech Commands", 16000, 12,
                                 "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"),
    "musan": AudioSpec("MUSAN", 16000, 3, "https://www.openslr.org/resources/17/musan.tar.gz"),
    "voxforge": AudioSpec("Voxforge", 16000, 6, "http://www.repository.voxforge1.org/downloads/"),
    "librispeech": AudioSpec("LibriSpeech", 16000, 100,
                             "https://www.openslr.org/resources/12/train-clean-100.tar.gz"),
}
_FOLDER_LOADERS = {"fsdd": None, "speech_commands": _speech_commands, "musan": _musan, "voxforge": _voxforge,
                   "librispeech": _librispeech}


def _unusable(*args, **kwargs):
    raise DataError("audio datasets load with augprior.audio.data.load_audio_dataset, not as image datasets")


DATASETS.add("fsdd", _unusable, label="FSDD", audio=True)
for _name in ("fsdd", "speech_commands", "musan", "voxforge", "librispeech"):
    if _name != "fsdd":  # the bare name: a label for the tables' empty cells
        DATASETS.add(_name, _unusable, label=AUDIO[_name].label, audio=True)
    DATASETS.add(f"{_name}:/path/to/root", _unusable, pattern=rf"{_name}:(?P<root>.+)", label=AUDIO[_name].label,
                 audio=True, folder_of=_name)


def base_name(name: str) -> str:
    """`speech_commands:/root` -> speech_commands; fsdd -> fsdd."""
    base = name.split(":", 1)[0]
    if base not in AUDIO:
        raise DataError(f"unknown audio dataset {name!r}; known: fsdd, " + ", ".join(f"{n}:/path" for n in AUDIO))
    return base


def sample_rate(name: str) -> int:
    return AUDIO[base_name(name)].sample_rate


def label(name: str) -> str:
    return AUDIO[base_name(name)].label


def load_audio_dataset(name: str, split: str, mirror: str | os.PathLike | None = None) -> AudioDataset:
    """Split `split` (train | test) of audio dataset `name` (see the module docstring)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    base = base_name(name)
    rate = AUDIO[base].sample_rate
    if base == "fsdd":
        if ":" in name:
            waves, labels = _fsdd_dir(Path(name.split(":", 1)[1]).expanduser(), split, rate)
        else:
            (archive,) = manifest.resolve_dataset("fsdd", mirror).values()
            waves, labels = _fsdd_tar(archive, split, rate)
        classes = FSDD_CLASSES
    else:
        if ":" not in name:
            raise DataError(f"{base} is read from its extracted folder: name it {base}:/path/to/root "
                            f"(download: {AUDIO[base].url})")
        waves, labels, classes = _FOLDER_LOADERS[base](Path(name.split(":", 1)[1]).expanduser(), split, rate)
    return AudioDataset(name, split, waves, torch.tensor(labels, dtype=torch.long), list(classes), rate)
