"""The fast engine against the reference engine.

Same parameters (patch by patch)
--------------------------------
Both engines render the SAME `sample_params` output. "JPEG-level" is measured, not assumed:
for the same reference patches we also measure what the JPEG q75 round trip alone changes
(reference with JPEG vs reference without): MAE about 7-8 grey levels, PSNR about 27 dB
on 32-px patches of these images. The engines must differ by clearly less than that:

- geometry only (no jitter, no JPEG): two_pass MAE < 3, PSNR > 35 dB; single MAE < 6,
  PSNR > 29 dB (measured on coffee / astronaut / animals / bridge: two_pass MAE 0.7-2.0,
  PSNR 38-45 dB; single MAE 1.2-3.9, PSNR 32.5-40 dB);
- full pipeline (jitter p=0.5 + JPEG q75 on both): MAE below 0.75x (two_pass) and 1.0x
  (single) of the JPEG round trip's own MAE, PSNR above 30 dB (two_pass) / 28 dB (single)
  (measured: JPEG alone MAE 4.8-8.4, PSNR 26.8-30.8 dB; two_pass MAE 1.9-4.3, PSNR
  32.4-38.2 dB; single MAE 2.3-5.9, PSNR 29.6-36.3 dB);
- sharpness, patch by patch: mean gradient energy of fast / reference within 6 %
  (measured within 3 %), so neither geometry is systematically blurrier or sharper.
The colour ops alone reproduce Pillow's 8-bit arithmetic (measured: 100 % identical values;
asserted: >= 99.9 % identical and nothing off by more than 2 levels, to allow for a Pillow
build whose compiler contracts a multiply-add differently).

Independent sampling (different seeds)
--------------------------------------
With N patches per engine, each statistic's tolerance is 4 standard errors of the
difference of two independent means (estimated from the per-patch values), plus a small
allowance for the systematic differences measured above:
- per-channel mean: 4 SE + 1 grey level; per-channel std (mean over patches of the
  per-patch std): 4 SE + 1 level;
- gradient energy (mean squared finite difference of the grey patch): ratio within
  4 SE (relative) + 5 % (two_pass measured within 2 %, single within 2 % after its blur);
- black fill (fraction of pixels with every channel <= 12 after JPEG): 4 SE + 0.2 %.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from augprior.source_images import load_source_image
from augprior.patches import PatchSpec, generate, sample_params
from augprior.patches import fast, reference


def _mae_psnr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float((d ** 2).mean())
    return float(np.abs(d).mean()), (10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf"))


def _images(mirror_ok: bool) -> list[str]:
    names = ["skimage:coffee", "skimage:astronaut"]
    return names + (["animals", "bridge"] if mirror_ok else [])


@pytest.fixture(scope="module")
def mirror_ok() -> bool:
    import os
    from pathlib import Path

    m = os.environ.get("AUGPRIOR_MIRROR")
    return bool(m) and (Path(m) / "images" / "animals.png").is_file()


@pytest.mark.parametrize("geometry", ["two_pass", "single"])
def test_same_params_geometry_only(geometry, mirror_ok):
    spec = PatchSpec(size=32, jitter_p=0.0, jpeg_quality=None)
    limit_mae, limit_psnr = {"two_pass": (3.0, 35.0), "single": (6.0, 29.0)}[geometry]
    for name in _images(mirror_ok):
        img = load_source_image(name)
        p = sample_params(3, *img.shape[:2], spec, 100)
        ref = reference.render(img, p, spec)
        out = fast.FastRenderer(img, spec, geometry=geometry).render(p).permute(0, 2, 3, 1).numpy()
        mae, psnr = _mae_psnr(out, ref)
        print(f"\n[geometry only] {name:18s} {geometry:8s} MAE {mae:.2f}  PSNR {psnr:.2f} dB")
        assert mae < limit_mae and psnr > limit_psnr, (name, geometry, mae, psnr)


@pytest.mark.parametrize("geometry", ["two_pass", "single"])
def test_same_params_full_pipeline_within_jpeg_error(geometry, mirror_ok):
    spec = PatchSpec(size=32)                      # jitter p = 0.5, JPEG q75
    factor, limit_psnr = {"two_pass": (0.75, 30.0), "single": (1.0, 28.0)}[geometry]
    for name in _images(mirror_ok):
        img = load_source_image(name)
        p = sample_params(5, *img.shape[:2], spec, 100)
        ref = reference.render(img, p, spec)
        ref_raw = reference.render(img, p, spec, jpeg=False)
        out = fast.FastRenderer(img, spec, geometry=geometry).render(p).permute(0, 2, 3, 1).numpy()
        mae, psnr = _mae_psnr(out, ref)
        jpeg_mae, jpeg_psnr = _mae_psnr(ref, ref_raw)
        print(f"\n[jitter+JPEG] {name:18s} {geometry:8s} fast-vs-ref MAE {mae:.2f} PSNR {psnr:.2f} dB | "
              f"JPEG q75 itself MAE {jpeg_mae:.2f} PSNR {jpeg_psnr:.2f} dB")
        ge = _stats(out)["grad"].mean() / _stats(ref)["grad"].mean()
        print(f"    gradient energy fast / reference (same patches): {ge:.3f}")
        assert mae < factor * jpeg_mae, (name, mae, jpeg_mae)
        assert psnr > limit_psnr, (name, psnr)
        assert abs(ge - 1) < 0.06, (name, ge)


def test_color_ops_match_pil_arithmetic():
    """Each jitter op alone, on real patches, against torchvision's PIL functions."""
    from torchvision.transforms import functional as TF

    rng = np.random.default_rng(0)
    img = load_source_image("skimage:coffee")
    patches = generate(img, PatchSpec(size=32, jitter_p=0.0, jpeg_quality=None), 64, seed=1)
    fns = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for op in range(4):
        factors = rng.uniform(-0.1, 0.1, 64) if op == 3 else rng.uniform(0.6, 1.4, 64)
        want = np.stack([np.asarray(fns[op](Image.fromarray(p), float(f))) for p, f in zip(patches, factors)])
        x = torch.from_numpy(patches).permute(0, 3, 1, 2).float()
        f = torch.from_numpy(factors.astype(np.float32))
        got = fast._OPS[op](x, f).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        diff = np.abs(got.astype(int) - want)
        same = float((diff == 0).mean())
        print(f"\n[colour] {fast._KEYS[op]:10s} identical {100 * same:.2f} %  max diff {diff.max()}")
        assert same >= 0.999 and diff.max() <= 2, (fast._KEYS[op], same, diff.max())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_jpeg_codecs_agree():
    """torchvision's encoder gives PIL's bytes for the same pixels (both libjpeg, q75, 4:2:0)."""
    import io

    from torchvision.io import encode_jpeg

    x = torch.from_numpy(load_source_image("skimage:astronaut")[100:132, 200:232].copy()).permute(2, 0, 1).contiguous()
    buf = io.BytesIO()
    Image.fromarray(x.permute(1, 2, 0).numpy()).save(buf, format="JPEG", quality=75)
    assert bytes(encode_jpeg(x, quality=75).numpy()) == buf.getvalue()
    got = fast.jpeg_roundtrip(x[None], 75)[0].permute(1, 2, 0).numpy()
    assert np.array_equal(got, reference.jpeg_roundtrip_pil(x.permute(1, 2, 0).numpy(), 75))


def _stats(patches: np.ndarray) -> dict[str, np.ndarray]:
    x = patches.astype(np.float64)
    gray = x.mean(axis=3)
    grad = (np.diff(gray, axis=1) ** 2).mean(axis=(1, 2)) + (np.diff(gray, axis=2) ** 2).mean(axis=(1, 2))
    return {"mean": x.mean(axis=(1, 2)), "std": x.std(axis=(1, 2)), "grad": grad,
            "black": (patches.max(axis=3) <= 12).mean(axis=(1, 2))}


def _check(name, a, b, extra, rel=False):
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    if rel:
        tol = 4 * se / ma + extra
        print(f"  {name:14s} ref {ma:.2f} fast {mb:.2f} ratio {mb / ma:.3f} (tol +-{tol:.3f})")
        assert abs(mb / ma - 1) <= tol, (name, ma, mb, tol)
    else:
        tol = 4 * se + extra
        print(f"  {name:14s} ref {np.round(ma, 3)} fast {np.round(mb, 3)} (tol +-{np.round(tol, 3)})")
        assert np.all(np.abs(ma - mb) <= tol), (name, ma, mb, tol)


N_STATS = 1200


@pytest.fixture(scope="module")
def reference_stats():
    img = load_source_image("skimage:astronaut")
    return img, _stats(generate(img, PatchSpec(size=32), N_STATS, seed=0, engine="reference"))


@pytest.mark.parametrize("geometry", ["two_pass", "single"])
def test_independent_sampling_statistics(geometry, reference_stats):
    img, ref = reference_stats
    n = N_STATS
    out = _stats(generate(img, PatchSpec(size=32), n, seed=1, engine="fast", geometry=geometry))
    print(f"\n[independent seeds, {n} patches each, skimage:astronaut, {geometry}]")
    _check("channel mean", ref["mean"], out["mean"], 1.0)
    _check("channel std", ref["std"], out["std"], 1.0)
    _check("grad energy", ref["grad"], out["grad"], 0.05, rel=True)
    _check("black fill", ref["black"], out["black"], 0.002)
