"""The analysis behind Figure 10: log-Mel spectrograms of 1-s segments of augmented clips of the clip set,
one per augmentation, beside the same segment without augmentation; and how much each one changes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import report
from ..tables import job_dir
from . import augment

TITLE = "Figure 10: log-Mel spectrograms of augmented 1-s segments of one clip (one per augmentation)"
PAPER = ("Fig. 10 (Appendix A.2): spectrograms of one-second segments of augmented audio: 50K clips are made from a "
         "5-minute recording by cropping 2-s segments at random and applying one of the 14 AugLy augmentations "
         "(Appendix C.1); \"various spectrograms can be generated from a single clip by utilizing many augmentations\".")
CHANGED = 0.01  # mean |log-Mel change| above what the float16 storage alone causes (~0.003)
COLUMNS = ["augmentation", "clip_index", "samples", "mean_abs_logmel_change", "logmel_mean", "logmel_std"]


def analysis(cells, ctx, out, root=".") -> None:
    import soundfile as sf
    import torch

    from ..figures import save
    from .clipset import draw, load_clip_set
    from .features import LogMel

    reasons = [f"{c.part}: {c.reason}" for c in cells if c.reason]
    reasons += [f"{c.part}: missing {p}" for c in cells for j in c.jobs
                if not (p := job_dir(j, root) / "clips.json").exists()]
    if reasons:
        report.empty_figure(out.png, TITLE, reasons)
        report.write(out, pd.DataFrame(columns=COLUMNS), report.not_run(TITLE, ctx.scale, reasons),
                     {"scale": ctx.scale, "summary": {}, "reasons": reasons})
        return
    import time

    import matplotlib.pyplot as plt

    t0 = time.time()
    job = cells[0].jobs[0]
    folder = job_dir(job, root)
    arr, meta = load_clip_set(folder / "clips.npy")
    source, _ = sf.read(Path(folder) / "source.wav", dtype="float32")
    rate, crop = meta["sample_rate"], meta["crop_samples"]
    feats = LogMel(rate)
    seg = rate  # 1 s
    names = meta["augmentations"]
    panels, rows = [], []

    def spec(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return feats(torch.from_numpy(_first_second(x, seg))[None])[0, 0].numpy()

    for name in augment.AUGMENTATIONS:
        if name not in names:
            rows.append({"augmentation": name, "clip_index": None})
            continue
        i = names.index(name)
        offset = draw(meta["seed"], i, len(source), crop)[0]
        plain = spec(source[offset:offset + seg])
        a = spec(np.asarray(arr[i, :meta["lengths"][i]], np.float32))
        if not panels:
            panels.append((f"no augmentation (the crop of {name})", i, plain))
        panels.append((name, i, a))
        rows.append({"augmentation": name, "clip_index": i, "samples": meta["lengths"][i],
                     "mean_abs_logmel_change": round(float(np.abs(a - plain).mean()), 4),
                     "logmel_mean": round(float(a.mean()), 4), "logmel_std": round(float(a.std()), 4)})
    cols = 5
    fig, axes = plt.subplots(-(-len(panels) // cols), cols, figsize=(3 * cols, 2.2 * -(-len(panels) // cols)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, i, spec) in zip(axes.flat, panels):
        ax.axis("on")
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma")
        ax.set_title(f"{name} (clip {i})", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{TITLE}\nsource: {meta['source_description']}", fontsize=9)
    save(fig, out.png)
    df = pd.DataFrame(rows, columns=COLUMNS)
    changed = df[df.mean_abs_logmel_change.fillna(0) > CHANGED].augmentation.tolist()
    same = [r["augmentation"] for r in rows if r.get("clip_index") is not None and r["augmentation"] not in changed]
    missing = [r["augmentation"] for r in rows if r.get("clip_index") is None]
    measured = [f"{r['augmentation']}: clip {r['clip_index']}, mean |change| of the log-Mel "
                f"{r.get('mean_abs_logmel_change')}" for r in rows if r.get("clip_index") is not None]
    verdict = (f"{'Yes' if len(changed) >= 10 else 'Partly'}: {len(changed)} of the 14 augmentations change the "
               f"spectrogram of the same segment (mean absolute log-Mel change > {CHANGED}; the float16 storage alone changes it by ~0.003)"
               + (f"; {', '.join(same)} leave it unchanged (the identity at AugLy's default settings: volume 0 dB, "
                  "clip offset 0 and duration 1)" if same else "")
               + (f"; not drawn in this set: {', '.join(missing)}" if missing else "") + ".")
    run = (f"The clip set of `{job.id}`: {meta['count']} crops of {meta['crop_seconds']} s at {rate} Hz from "
           f"{meta['source_description']}; the first clip of each augmentation, its first second, as 64-bin "
           "log-Mel spectrograms (25 ms window, 10 ms hop).")
    note = report.note(TITLE, ctx.scale, PAPER, run, cells, measured, verdict, time.time() - t0)
    report.write(out, df, note, {"scale": ctx.scale, "summary": {"augmentations_changing": len(changed)},
                                 "seconds": round(time.time() - t0, 1)})


def _first_second(x: np.ndarray, seg: int) -> np.ndarray:
    """The first `seg` samples of `x`, zero-padded."""
    out = np.zeros(seg, np.float32)
    out[:min(seg, len(x))] = x[:seg]
    return out
