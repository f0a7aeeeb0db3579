"""Per-patch augmentation parameters: sampled once, applied by either engine.

`sample_params` draws every random number of the official pipeline for a set of patch
indices, from a counter-based generator keyed by (seed, index) (see `rng`). Both engines
render from these explicit parameters, so the reference (PIL) and the fast (batched torch)
engine can be compared patch by patch, and a patch does not depend on how the indices
were chunked into batches or workers.

The formulas are torchvision's (RandomCrop, RandomResizedCrop, RandomAffine, RandomVerticalFlip,
RandomApply, ColorJitter); `sample_params_torch` reproduces the official generator's own
torch-RNG stream draw for draw, which the tests use to check the reference engine against a
torchvision Compose built like the official one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .rng import uniforms
from .spec import PatchError, PatchSpec

JITTER_OPS = ("brightness", "contrast", "saturation", "hue")

# Philox counter blocks: each random quantity has its own slot, independent of retries.
_B_CROP_AFFINE = 0   # top, left, angle, shear
_B_FLIP_JIT = 1      # vflip, jitter applied, brightness, contrast
_B_SAT_HUE = 2       # saturation, hue, -, -
_B_ORDER = 3         # 4 keys whose argsort is the jitter order
_B_RRC = 16          # RandomResizedCrop attempt t uses block 16 + t: scale, log-ratio, i, j
_HARD_CAP = 10_000   # attempts before the stock fallback when retrying "until a box fits"

STREAM_SET = 0       # materialised patch sets: index = patch number
STREAM_ONLINE = 1    # on-the-fly patches: index = (step << 32) | k


@dataclass
class PatchParams:
    """Parameters of N patches (struct of arrays); index i is patch `index[i]`.

    Geometry is in pixels of the source image: the square crop (top0, left0, side), then the
    resized-crop box (i, j, h, w) inside it. Angles in degrees. `order` lists the jitter ops
    (0 brightness, 1 contrast, 2 saturation, 3 hue) in the order they are applied.
    """

    index: np.ndarray        # uint64 (N,)
    side: int                # side of the first square crop
    top0: np.ndarray         # int64 (N,)
    left0: np.ndarray
    i: np.ndarray            # resized-crop box inside the square crop
    j: np.ndarray
    h: np.ndarray
    w: np.ndarray
    angle: np.ndarray        # float64 (N,)
    shear: np.ndarray
    vflip: np.ndarray        # bool (N,)
    jitter: np.ndarray       # bool (N,)
    order: np.ndarray        # int64 (N, 4)
    brightness: np.ndarray   # float64 (N,) factors (1 = identity; hue 0 = identity)
    contrast: np.ndarray
    saturation: np.ndarray
    hue: np.ndarray

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getitem__(self, sel) -> "PatchParams":
        """Subset by a slice, an integer array or a boolean mask (an int gives a length-1 subset)."""
        if isinstance(sel, (int, np.integer)):
            sel = slice(int(sel), int(sel) + 1) if sel != -1 else slice(-1, None)
        return PatchParams(**{f.name: (getattr(self, f.name) if f.name == "side" else getattr(self, f.name)[sel])
                              for f in fields(self)})

    @staticmethod
    def concat(parts: list["PatchParams"]) -> "PatchParams":
        if not parts:
            raise ValueError("nothing to concatenate")
        return PatchParams(**{f.name: (parts[0].side if f.name == "side"
                                       else np.concatenate([getattr(p, f.name) for p in parts]))
                              for f in fields(PatchParams)})

    def row(self, k: int) -> dict:
        """Patch k as plain Python values (what the reference engine consumes)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v if f.name == "side" else v[k].tolist()
        return out


def sample_params(seed: int, height: int, width: int, spec: PatchSpec, num: int | None = None, *,
                  start: int = 0, indices: np.ndarray | None = None, stream: int = STREAM_SET) -> PatchParams:
    """Parameters of patches `start .. start+num-1` (or of explicit `indices`) of an H x W image."""
    if indices is None:
        if num is None or num < 0 or start < 0:
            raise ValueError("give num >= 0 (and start >= 0) or explicit indices")
        indices = np.arange(start, start + num, dtype=np.uint64)
    idx = np.asarray(indices, dtype=np.uint64).reshape(-1)
    n = idx.size
    spec.check_source(height, width)
    side = spec.crop_side(height, width)

    u0 = uniforms(seed, idx, _B_CROP_AFFINE, stream)
    u1 = uniforms(seed, idx, _B_FLIP_JIT, stream)
    u2 = uniforms(seed, idx, _B_SAT_HUE, stream)
    u3 = uniforms(seed, idx, _B_ORDER, stream)

    # 1. RandomCrop(side): i = randint(0, H - side + 1), j = randint(0, W - side + 1)
    top0 = _randint(u0[:, 0], height - side + 1)
    left0 = _randint(u0[:, 1], width - side + 1)

    # 2. RandomResizedCrop box inside the side x side crop
    bi, bj, bh, bw = _rrc_boxes(seed, idx, stream, side, side, spec)

    # 3. RandomAffine: angle ~ U(-deg, deg), then shear_x ~ U(-shear, shear); shear_y = 0
    angle = _uniform(u0[:, 2], -spec.degrees, spec.degrees)
    shear = _uniform(u0[:, 3], -spec.shear, spec.shear)
    # 4. RandomVerticalFlip(0.5): flip if rand < p (only drawn when enabled)
    vflip = (u1[:, 0] < 0.5) if spec.vflip else np.zeros(n, dtype=bool)
    # 6. RandomApply([ColorJitter], p): applied unless p < rand
    jitter = u1[:, 1] <= spec.jitter_p
    order = np.argsort(u3, axis=1, kind="stable").astype(np.int64)
    bj_, cj_, sj_, hj_ = spec.jitter
    brightness = _uniform(u1[:, 2], max(0.0, 1 - bj_), 1 + bj_)
    contrast = _uniform(u1[:, 3], max(0.0, 1 - cj_), 1 + cj_)
    saturation = _uniform(u2[:, 0], max(0.0, 1 - sj_), 1 + sj_)
    hue = _uniform(u2[:, 1], -hj_, hj_)
    return PatchParams(index=idx, side=side, top0=top0, left0=left0, i=bi, j=bj, h=bh, w=bw,
                       angle=angle, shear=shear, vflip=vflip, jitter=jitter, order=order,
                       brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)


def _uniform(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return lo + (hi - lo) * u


def _randint(u: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Integer in [0, n) from u in (0, 1)."""
    return np.minimum(np.floor(u * n).astype(np.int64), np.asarray(n, dtype=np.int64) - 1)


def _rrc_boxes(seed: int, idx: np.ndarray, stream: int, height: int, width: int,
               spec: PatchSpec) -> tuple[np.ndarray, ...]:
    """torchvision's RandomResizedCrop.get_params, vectorised, one Philox block per attempt."""
    n = idx.size
    area = float(height * width)
    lr0, lr1 = math.log(spec.ratio[0]), math.log(spec.ratio[1])
    out = np.zeros((4, n), dtype=np.int64)
    todo = np.arange(n)
    tries = spec.rrc_max_tries if spec.rrc_max_tries is not None else _HARD_CAP
    t = 0
    while todo.size and t < tries:
        # a first round tries 4 attempts per patch at once; stragglers continue one at a time
        span = min(4 if t == 0 else 1, tries - t)
        for a in range(t, t + span):
            if not todo.size:
                break
            u = uniforms(seed, idx[todo], _B_RRC + a, stream)
            target = area * _uniform(u[:, 0], spec.scale[0], spec.scale[1])
            aspect = np.exp(_uniform(u[:, 1], lr0, lr1))
            w = np.round(np.sqrt(target * aspect)).astype(np.int64)   # Python round: half to even
            h = np.round(np.sqrt(target / aspect)).astype(np.int64)
            ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
            if ok.any():
                k = todo[ok]
                out[0, k] = _randint(u[ok, 2], height - h[ok] + 1)
                out[1, k] = _randint(u[ok, 3], width - w[ok] + 1)
                out[2, k] = h[ok]
                out[3, k] = w[ok]
                todo = todo[~ok]
        t += span
    if todo.size:  # torchvision's fallback: central crop with the ratio clamped into range
        in_ratio = width / height
        if in_ratio < spec.ratio[0]:
            w, h = width, int(round(width / spec.ratio[0]))
        elif in_ratio > spec.ratio[1]:
            w, h = int(round(height * spec.ratio[1])), height
        else:
            w, h = width, height
        out[0, todo], out[1, todo], out[2, todo], out[3, todo] = (height - h) // 2, (width - w) // 2, h, w
    return out[0], out[1], out[2], out[3]


def sample_params_torch(height: int, width: int, spec: PatchSpec, num: int) -> PatchParams:
    """Parameters drawn from torch's global RNG in exactly the order the official generator draws them.

    The official script seeds torch with 555 * worker and runs RandomCrop, its own
    RandomResizedCrop (retrying forever), RandomAffine, [RandomVerticalFlip], CenterCrop and
    RandomApply(ColorJitter) per patch. Rendering these parameters with the reference engine
    gives the official generator's patches (before its JPEG step) for the same seed.
    """
    import torch

    if spec.rrc_max_tries is not None:
        raise PatchError("sample_params_torch follows the released sampler (rrc_max_tries=None)")
    spec.check_source(height, width)
    side = spec.crop_side(height, width)
    rows = []
    log_ratio = torch.log(torch.tensor(spec.ratio))
    for _ in range(num):
        if side == height and side == width:  # torchvision's RandomCrop draws nothing then
            top0 = left0 = 0
        else:
            top0 = torch.randint(0, height - side + 1, size=(1,)).item()
            left0 = torch.randint(0, width - side + 1, size=(1,)).item()
        while True:
            target_area = side * side * torch.empty(1).uniform_(spec.scale[0], spec.scale[1]).item()
            aspect = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= side and 0 < h <= side:
                i = torch.randint(0, side - h + 1, size=(1,)).item()
                j = torch.randint(0, side - w + 1, size=(1,)).item()
                break
        angle = float(torch.empty(1).uniform_(-spec.degrees, spec.degrees).item())
        shear = float(torch.empty(1).uniform_(-spec.shear, spec.shear).item())
        vflip = bool(torch.rand(1) < 0.5) if spec.vflip else False
        apply = not (spec.jitter_p < torch.rand(1))
        b = c = s = 1.0
        hu = 0.0
        order = [0, 1, 2, 3]
        if apply:
            order = torch.randperm(4).tolist()
            bj, cj, sj, hj = spec.jitter
            b = float(torch.empty(1).uniform_(max(0.0, 1 - bj), 1 + bj))
            c = float(torch.empty(1).uniform_(max(0.0, 1 - cj), 1 + cj))
            s = float(torch.empty(1).uniform_(max(0.0, 1 - sj), 1 + sj))
            hu = float(torch.empty(1).uniform_(-hj, hj))
        rows.append((top0, left0, i, j, h, w, angle, shear, vflip, apply, order, b, c, s, hu))
    col = list(zip(*rows)) if rows else [[] for _ in range(15)]
    i64 = lambda k: np.asarray(col[k], dtype=np.int64)  # noqa: E731
    f64 = lambda k: np.asarray(col[k], dtype=np.float64)  # noqa: E731
    return PatchParams(index=np.arange(num, dtype=np.uint64), side=side, top0=i64(0), left0=i64(1),
                       i=i64(2), j=i64(3), h=i64(4), w=i64(5), angle=f64(6), shear=f64(7),
                       vflip=np.asarray(col[8], dtype=bool), jitter=np.asarray(col[9], dtype=bool),
                       order=np.asarray(col[10], dtype=np.int64).reshape(num, 4),
                       brightness=f64(11), contrast=f64(12), saturation=f64(13), hue=f64(14))


def check_params(params: PatchParams, height: int, width: int) -> None:
    """Raise if the parameters do not describe boxes inside an H x W image."""
    s = params.side
    bad = ((params.top0 < 0) | (params.top0 + s > height) | (params.left0 < 0) | (params.left0 + s > width)
           | (params.i < 0) | (params.j < 0) | (params.h < 1) | (params.w < 1)
           | (params.i + params.h > s) | (params.j + params.w > s))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise PatchError(f"patch parameters do not fit a {width}x{height} image (patch {params.index[k]})")
