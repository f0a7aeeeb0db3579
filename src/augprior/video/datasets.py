"""Labelled video datasets in their published layouts, decoded with PyAV.

UCF-101 (Soomro et al. 2012; https://www.crcv.ucf.edu/data/UCF101/), `root` holding what the two official
archives extract to:
    root/UCF-101/<Class>/v_<Class>_gGG_cCC.avi          (UCF101.rar)
    root/ucfTrainTestlist/classInd.txt                 "1 ApplyEyeMakeup" ... (1-based)
    root/ucfTrainTestlist/trainlist0{1,2,3}.txt        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    root/ucfTrainTestlist/testlist0{1,2,3}.txt         "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
  (UCF101TrainTestSplits-RecognitionTask.zip). The paper uses split 1.

Kinetics-400 (Carreira & Zisserman 2017), `root` holding the official annotation CSVs (columns label,
youtube_id, time_start, time_end, split[, is_cc]) and the clips named <youtube_id>_<start:06d>_<end:06d>
with any video extension, flat or in per-class folders (both layouts of the common downloaders):
    root/annotations/{train,validate,test}.csv   (or root/{train,validate,val}.csv)
    root/{train,val}/[<label>/]<youtube_id>_000010_000020.mp4
  Classes are the sorted label names of the split's and train.csv's rows (the order of pytorchvideo's
  Kinetics-400 weights). Clips named in
  the CSV but absent on disk (YouTube takedowns) are skipped and counted (`missing`).

Test clips follow the official evaluation (video/distiller.py): `clips` clips per video (10), clip c
starting at c * (duration - D) / clips seconds (pytorchvideo's constant_clips_per_video sampler), D =
frames * stride / fps_nominal (4 * 12 / 25 s for UCF-101, 4 * 12 / 30 s for Kinetics), the frames of
each clip subsampled uniformly to `frames`, shorter side resized to `short_side` (183) and centre-cropped
to `crop` (160). Decoding returns uint8; normalisation happens on the batch, on the device.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..manifest import DataError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
NOMINAL_FPS = {"ucf101": 25.0, "kinetics400": 30.0}
LABELS = {"ucf101": "UCF-101", "kinetics400": "Kinetics-400"}


@dataclass
class VideoDataset:
    name: str
    split: str
    paths: list[Path]
    labels: torch.Tensor
    classes: list[str]
    missing: int = 0
    root: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, n: int) -> "VideoDataset":
        from ..datasets import subset_indices

        idx = subset_indices(len(self), n).tolist()
        return VideoDataset(self.name, self.split, [self.paths[i] for i in idx], self.labels[idx], self.classes,
                            self.missing, self.root, self.extra)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: missing (expected the official UCF-101 split files in {path.parent})")
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def load_ucf101(root: str | os.PathLike, split: str = "test", fold: int = 1) -> VideoDataset:
    """UCF-101 split `fold` (1-3), 'train' or 'test' (see the module docstring for the layout)."""
    root = Path(root).expanduser()
    if split not in ("train", "test"):
        raise ValueError(f"UCF-101 split must be 'train' or 'test', not {split!r}")
    if fold not in (1, 2, 3):
        raise ValueError(f"UCF-101 has splits 1, 2 and 3, not {fold}")
    lists = root / "ucfTrainTestlist"
    videos = root / "UCF-101"
    if not root.is_dir() or not lists.is_dir() or not videos.is_dir():
        raise DataError(f"UCF-101 at {root}: expected {videos}/<Class>/*.avi and {lists}/ (extract UCF101.rar and "
                        "UCF101TrainTestSplits-RecognitionTask.zip from https://www.crcv.ucf.edu/data/UCF101/ there)")
    classes: list[str] = []
    for ln in _read_lines(lists / "classInd.txt"):
        num, name = ln.split(maxsplit=1)
        if int(num) != len(classes) + 1:
            raise DataError(f"{lists / 'classInd.txt'}: class numbers must run 1, 2, ...; found {num} at line "
                            f"{len(classes) + 1}")
        classes.append(name)
    index = {c: i for i, c in enumerate(classes)}
    paths, labels = [], []
    listfile = lists / f"{split}list0{fold}.txt"
    for ln in _read_lines(listfile):
        rel = ln.split()[0].replace("\\", "/")
        cls = rel.split("/")[0]
        if cls not in index:
            raise DataError(f"{listfile}: {rel!r} names class {cls!r}, which classInd.txt lacks")
        if len(ln.split()) > 1 and int(ln.split()[1]) != index[cls] + 1:
            raise DataError(f"{listfile}: {rel!r} has label {ln.split()[1]}, classInd.txt says {index[cls] + 1}")
        path = videos / rel
        if not path.is_file():
            raise DataError(f"UCF-101: {path} is listed in {listfile.name} but missing")
        paths.append(path)
        labels.append(index[cls])
    return VideoDataset("ucf101", split, paths, torch.tensor(labels, dtype=torch.long), classes, 0, str(root),
                        {"fold": fold})


K400_CSV = {"train": ("train.csv",), "val": ("validate.csv", "val.csv"), "test": ("test.csv",)}
K400_DIRS = {"train": ("train",), "val": ("val", "validate", "valid"), "test": ("test",)}


def _find_csv(root: Path, split: str) -> Path:
    for folder in (root / "annotations", root):
        for name in K400_CSV[split]:
            if (folder / name).is_file():
                return folder / name
    raise DataError(f"Kinetics-400 at {root}: no {' or '.join(K400_CSV[split])} in {root}/annotations or {root} "
                    "(the official annotation CSVs: label,youtube_id,time_start,time_end,split)")


def clip_name(youtube_id: str, start: float, end: float) -> str:
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}"


def _train_labels(root: Path, split: str) -> set[str]:
    """The labels of train.csv (when there is one), so that a split lacking a class keeps the class indices."""
    if split == "train":
        return set()
    try:
        table = _find_csv(root, "train")
    except DataError:
        return set()
    with open(table, newline="") as f:
        return {r["label"] for r in csv.DictReader(f) if r.get("label")}


def load_kinetics400(root: str | os.PathLike, split: str = "val") -> VideoDataset:
    """Kinetics-400 'train', 'val' or 'test' (see the module docstring for the layout)."""
    root = Path(root).expanduser()
    if split not in K400_CSV:
        raise ValueError(f"Kinetics split must be one of {', '.join(K400_CSV)}, not {split!r}")
    if not root.is_dir():
        raise DataError(f"Kinetics-400 at {root}: no such folder")
    table = _find_csv(root, split)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"label", "youtube_id", "time_start", "time_end"}
    if not rows or not need <= set(rows[0]):
        raise DataError(f"{table}: expected columns {', '.join(sorted(need))} and at least one row")
    folder = next((root / d for d in K400_DIRS[split] if (root / d).is_dir()), None)
    if folder is None:
        raise DataError(f"Kinetics-400 at {root}: no {' or '.join(K400_DIRS[split])}/ folder of clips")
    on_disk = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()}
    classes = sorted({r["label"] for r in rows} | _train_labels(root, split))
    index = {c: i for i, c in enumerate(classes)}
    paths, labels, missing = [], [], 0
    for r in rows:
        path = on_disk.get(clip_name(r["youtube_id"], r["time_start"], r["time_end"]))
        if path is None:
            missing += 1
            continue
        paths.append(path)
        labels.append(index[r["label"]])
    if not paths:
        raise DataError(f"Kinetics-400 at {root}: none of the {len(rows)} clips of {table.name} is in {folder}")
    return VideoDataset("kinetics400", split, paths, torch.tensor(labels, dtype=torch.long), classes, missing,
                        str(root))


def load_video_dataset(name: str, root: str | os.PathLike, split: str) -> VideoDataset:
    if name == "ucf101":
        return load_ucf101(root, "test" if split in ("test", "val") else split)
    if name == "kinetics400":
        return load_kinetics400(root, "val" if split == "test" else split)
    raise DataError(f"unknown video dataset {name!r}; known: ucf101, kinetics400")


# ---------------------------------------------------------------------------- decoding

def decode_video(path: str | os.PathLike, short_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All frames of the first video stream as uint8 (N, H, W, 3) and their times in seconds; with
    `short_side`, each frame is scaled on decoding (FFmpeg's bilinear swscale) so that its shorter side is
    that many pixels, which bounds memory for long HD clips (Kinetics has 720p ones)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"{path}: no video stream")
            stream = container.streams.video[0]
            frames, times = [], []
            for frame in container.decode(stream):
                if short_side is not None:
                    w, h = frame.width, frame.height
                    size = (short_side, int(round(h * short_side / w))) if w <= h else \
                        (int(round(w * short_side / h)), short_side)
                    frame = frame.reformat(width=size[0], height=size[1], interpolation="BILINEAR")
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(float(frame.time) if frame.time is not None else len(times) / float(stream.average_rate or 25))
    except av.error.FFmpegError as err:
        raise DataError(f"{path}: cannot decode video ({err})") from None
    if not frames:
        raise DataError(f"{path}: no frames")
    return np.stack(frames), np.asarray(times, dtype=np.float64)


def uniform_subsample(n: int, k: int) -> np.ndarray:
    """pytorchvideo's UniformTemporalSubsample: k indices spread evenly over n (repeats when n < k)."""
    return np.clip(np.linspace(0, n - 1, k), 0, n - 1).astype(np.int64)  # torch.linspace(...).long() truncates


def test_clips(frames: np.ndarray, times: np.ndarray, *, clips: int, frames_per_clip: int, clip_seconds: float
               ) -> np.ndarray:
    """`clips` clips of `frames_per_clip` frames, uint8 (clips, T, H, W, 3), as in the module docstring."""
    duration = float(times[-1] - times[0]) + (float(np.median(np.diff(times))) if len(times) > 1 else 0.0)
    start_max = max(duration - clip_seconds, 0.0)
    out = []
    t = times - times[0]
    for c in range(clips):
        start = c * start_max / clips
        inside = np.nonzero((t >= start - 1e-6) & (t < start + clip_seconds - 1e-6))[0]
        if len(inside) == 0:
            inside = np.array([int(np.argmin(np.abs(t - start)))])
        out.append(frames[inside[uniform_subsample(len(inside), frames_per_clip)]])
    return np.stack(out)


def resize_center_crop(clips: torch.Tensor, short_side: int, crop: int) -> torch.Tensor:
    """uint8 (..., T, H, W, 3) -> float (..., 3, T, crop, crop) in [0, 1]: shorter side to `short_side`
    (bilinear, as pytorchvideo's ShortSideScale), then a centre crop."""
    lead = clips.shape[:-4]
    x = clips.reshape(-1, *clips.shape[-4:]).float().div_(255)  # (B, T, H, W, 3)
    b, t, h, w, _ = x.shape
    x = x.permute(0, 1, 4, 2, 3).reshape(b * t, 3, h, w)
    if w < h:
        nh, nw = int(round(h * short_side / w)), short_side
    else:
        nh, nw = short_side, int(round(w * short_side / h))
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    if nh < crop or nw < crop:
        raise ValueError(f"short_side {short_side} is smaller than the crop {crop}")
    top, left = (nh - crop) // 2, (nw - crop) // 2
    x = x[:, :, top:top + crop, left:left + crop]
    return x.reshape(b, t, 3, crop, crop).permute(0, 2, 1, 3, 4).reshape(*lead, 3, t, crop, crop)
