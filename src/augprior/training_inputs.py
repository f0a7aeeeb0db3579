"""Training inputs of a distillation run: what the teacher and the student are shown.

`job["input"]` selects them (a JSON-able dict; the default is a patch file at job["patches_path"]):

  {"kind": "patches", "path": P}              a materialised patch set (augprior.patches.load_patch_set:
                                               patches.npy + patches.json, or a shard folder);
                                               "num": use only its first num patches
  {"kind": "patches", "on_the_fly": {...}}     fresh patches every step from
                                               augprior.patches.OnTheFlyPatches(**on_the_fly):
                                               image (name/path), spec (PatchSpec dict), seed
                                               (default: the job seed), engine, geometry, device
                                               (default: the training device), mirror
  {"kind": "patches", "sampler": obj}          (Python API) any object with
                                               `sample(n, step) -> (n, C, P, P)` tensor: uint8, or
                                               float in pixel units ([0, 1] for images);
                                               it must be a pure function of its own seed and `step`
  {"kind": "dataset", "name": D, "split": "train", "subset": N}
                                               the real images of dataset D (default: the job's
                                               dataset), optionally a fixed sample of N of them
                                               (datasets.subset_indices: seeded, spread over classes);
                                               "size": image side of imagefolder: datasets
  {"kind": "noise_uniform"} / {"kind": "noise_normal"}
                                               fresh noise every step, in pixel units before
                                               augmentation and normalisation: U[0, 1) or N(0, 1)
                                               per value (Table 11 rows w, x); side "size"
                                               (default: the patch/test image side), "channels"
  {"kind": "noise_mix", "noise": "normal"|"uniform", "alpha": a, <patches keys>}
                                               alpha * noise + (1 - alpha) * patch, in pixel units
                                               (Table 11 rows y, z: alpha 0.8 and 0.5, normal noise)

Sources without a fixed set of images (on-the-fly patches, samplers, noise) have no natural
epoch: one epoch is "num" images (default 50,000, the paper's CIFAR patch count), i.e.
num // batch_size steps. Sources with a fixed set shuffle it every epoch (permutation seeded by
(seed, epoch)) and drop the last incomplete batch.

Every random draw is a pure function of (seed, epoch, step) (`derive_seed`), so a run resumed
at any step draws exactly what an uninterrupted run draws, with no generator state to carry.

A patch-shard folder read with "shuffle_window": W shuffles by windows of W shards: every epoch
permutes the shards, then the patches within each run of W consecutive shards of that order (every
patch once per epoch, seeded by (seed, epoch)), so a step reads from at most W shards and a set far
larger than memory streams through the page cache shard by shard instead of seeking all over it.

Data-parallel runs (augprior.distributed) call `shard(rank, world)`: each rank's batch is its contiguous
slice of the global batch that a 1-process run draws at that step (batch_size stays the global one).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

DEFAULT_VIRTUAL_EPOCH = 50_000
KINDS = ("patches", "dataset", "noise_uniform", "noise_normal", "noise_mix")

# stream tags of derive_seed
TAG_ORDER, TAG_AUGMENT, TAG_NOISE = 1, 2, 3


class InputError(ValueError):
    """The job's input specification is invalid; the message names the key."""


@runtime_checkable
class Sampler(Protocol):
    """Anything that draws a fresh batch given the global step (e.g. patches.OnTheFlyPatches)."""

    def sample(self, n: int, step: int) -> torch.Tensor: ...


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed that is a pure, well-mixed function of (seed, *keys) (numpy SeedSequence)."""
    words = np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


def generator(seed: int, *keys: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *keys))


def windowed_permutation(bounds: list[tuple[int, int]], window: int, gen: torch.Generator) -> torch.Tensor:
    """A permutation of every index of the shards `bounds` ((start, count) each): the shards in a random
    order, then the indices within each run of `window` consecutive shards of that order permuted."""
    order = torch.randperm(len(bounds), generator=gen).tolist()
    parts = []
    for w in range(0, len(order), window):
        idx = torch.cat([torch.arange(bounds[k][0], bounds[k][0] + bounds[k][1]) for k in order[w:w + window]])
        parts.append(idx[torch.randperm(len(idx), generator=gen)])
    return torch.cat(parts)


def load_patch_file(path: str | os.PathLike):
    """A materialised patch set (augprior.patches.load_patch_set): a uint8 (N, 3, P, P) tensor view of
    a memory map, or a PatchShards object that indexes like one."""
    from .patches import load_patch_set

    return load_patch_set(path)


def _fingerprint(images, n: int) -> str:
    """Cheap identity of an image set: its shape and the bytes of its first and last 64 images."""
    h = hashlib.sha256(f"{n}{tuple(images.shape[1:])}".encode())
    for lo, hi in ((0, min(64, n)), (max(0, n - 64), n)):
        h.update(torch.as_tensor(images[lo:hi]).contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class Inputs:
    """Base class: `batch(epoch, step)` -> (images, indices or None) for one training step.

    images are on the CPU or the training device, uint8 or float in pixel units, (B, C, H, W).
    `indexed` sources draw from a fixed set of `len(self)` images (indices returned), which is
    what a teacher-output cache needs.
    """

    kind: str = ""
    indexed: bool = False
    steps_per_epoch: int = 0
    batch_size: int = 0
    shape: tuple[int, int, int] = (3, 32, 32)
    rank, world = 0, 1

    def shard(self, rank: int, world: int) -> "Inputs":
        """Rank `rank` of `world` gets its contiguous slice of every global batch."""
        if self.batch_size % world:
            raise InputError(f"the batch size {self.batch_size} is not divisible by the {world} data-parallel "
                             "processes (distill.batch_size is the global batch)")
        self.rank, self.world = int(rank), int(world)
        return self

    def local_slice(self) -> slice:
        b = self.batch_size // self.world
        return slice(self.rank * b, (self.rank + 1) * b)

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def batch(self, epoch: int, step: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def to(self, device: torch.device) -> "Inputs":
        return self

    def with_steps_per_epoch(self, steps: int | None) -> "Inputs":
        """Epochs of `steps` steps (None: one pass); samplers draw fresh images, fixed sets run on
        through reshuffled passes (see IndexedInputs.batch)."""
        if steps:
            self.steps_per_epoch = int(steps)
        return self


class IndexedInputs(Inputs):
    """A fixed set of uint8 images (a tensor, or a dataset with load_batch), reshuffled every epoch."""

    indexed = True

    def __init__(self, images, n: int, batch_size: int, seed: int, kind: str, info: dict[str, Any],
                 shuffle_window: int | None = None):
        self.images, self.n, self.batch_size, self.seed, self.kind = images, int(n), int(batch_size), int(seed), kind
        if shuffle_window is not None and (not hasattr(images, "bounds") or shuffle_window < 1):
            raise InputError(f"input.shuffle_window={shuffle_window!r}: needs a patch-shard folder and W >= 1")
        self.window = shuffle_window
        if self.n < self.batch_size:
            raise InputError(f"batch size {batch_size} exceeds the {self.n} images of the {kind} input")
        self.steps_per_epoch = self.pass_steps = self.n // self.batch_size
        first = self._load(torch.arange(1))
        self.shape = tuple(first.shape[1:])  # type: ignore[assignment]
        self.info = info
        self._order: tuple[int, torch.Tensor] | None = None

    def __len__(self) -> int:
        return self.n

    def _load(self, idx: torch.Tensor) -> torch.Tensor:
        if isinstance(self.images, torch.Tensor):
            return self.images[idx.to(self.images.device)]
        if hasattr(self.images, "load_batch"):  # an image folder (datasets.ImageFolderDataset)
            return self.images.load_batch(idx)
        return self.images[idx]  # a patch-shard folder (patches.PatchShards)

    def order(self, epoch: int) -> torch.Tensor:
        if self._order is None or self._order[0] != epoch:
            gen = generator(self.seed, TAG_ORDER, epoch)
            if self.window:
                perm = windowed_permutation(self.images.bounds(), self.window, gen)
                perm = perm[perm < self.n]  # "num": only the first n patches
            else:
                perm = torch.randperm(self.n, generator=gen)
            self._order = (epoch, perm)
        return self._order[1]

    def batch(self, epoch: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Pass p = (global step) // pass_steps over permutation p; an epoch is one pass unless
        with_steps_per_epoch set another length (then epochs and passes need not line up)."""
        if self.steps_per_epoch == self.pass_steps:
            p, step_in_pass = epoch, step
        else:
            p, step_in_pass = divmod(epoch * self.steps_per_epoch + step, self.pass_steps)
        idx = self.order(p)[step_in_pass * self.batch_size:(step_in_pass + 1) * self.batch_size]
        if self.world > 1:
            idx = idx[self.local_slice()]
        return self._load(idx), idx

    def load(self, idx: torch.Tensor) -> torch.Tensor:
        return self._load(idx)

    def to(self, device: torch.device) -> "IndexedInputs":
        """Keep a tensor image set on the training device when it is a GPU and the set is small."""
        if isinstance(self.images, torch.Tensor) and device.type == "cuda" and self.images.numel() <= 4 << 30:
            self.images = self.images[:self.n].to(device)
        return self

    def describe(self) -> dict[str, Any]:
        out = {"kind": self.kind, "num": self.n, "shape": list(self.shape), **self.info}
        if not hasattr(self.images, "paths"):  # tensors and patch shards; image folders are named by path
            out["fingerprint"] = _fingerprint(self.images, self.n)
        return out


class SampledInputs(Inputs):
    """Fresh images every step from a Sampler; `num` images make one epoch."""

    def __init__(self, sampler: Sampler, batch_size: int, num: int, kind: str, info: dict[str, Any]):
        if not callable(getattr(sampler, "sample", None)):
            raise InputError(f"{kind} input: the sampler {type(sampler).__name__} has no sample(n, step) method")
        self.sampler, self.batch_size, self.kind, self.info = sampler, int(batch_size), kind, info
        if num < batch_size:
            raise InputError(f"{kind} input: num={num} images per epoch is less than the batch size {batch_size}")
        self.num = int(num)
        self.steps_per_epoch = self.num // self.batch_size
        probe = self._sample(1, 0)
        self.shape = tuple(probe.shape[1:])  # type: ignore[assignment]

    def _sample(self, n: int, step: int) -> torch.Tensor:
        x = self.sampler.sample(n, step)
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x))
        if x.ndim != 4 or x.shape[0] != n or x.shape[1] not in (1, 3):
            raise InputError(f"{self.kind} input: sampler {type(self.sampler).__name__}.sample({n}, {step}) "
                             f"returned shape {tuple(x.shape)}; expected ({n}, 3, P, P)")
        if x.dtype != torch.uint8 and not x.is_floating_point():
            raise InputError(f"{self.kind} input: sampler returned {x.dtype}; expected uint8 or float")
        return x

    def batch(self, epoch: int, step: int) -> tuple[torch.Tensor, None]:
        step = epoch * self.steps_per_epoch + step
        if self.world == 1:
            return self._sample(self.batch_size, step), None
        part = self.local_slice()
        if callable(getattr(self.sampler, "sample_range", None)):  # renders only this rank's slice
            return self.sampler.sample_range(part.start, part.stop, step), None
        return self._sample(self.batch_size, step)[part], None

    def describe(self) -> dict[str, Any]:
        desc = getattr(self.sampler, "describe", None)
        sampler = desc() if callable(desc) else type(self.sampler).__name__
        return {"kind": self.kind, "num": self.num, "shape": list(self.shape), "sampler": sampler, **self.info}


class NoiseSampler:
    """Fresh noise in pixel units: U[0, 1) ("uniform") or N(0, 1) ("normal") per value, float32.

    Batch `step` comes from a generator seeded by (seed, step): a pure function of its arguments.
    """

    def __init__(self, noise: str, shape: tuple[int, int, int], seed: int):
        if noise not in ("uniform", "normal"):
            raise InputError(f"noise must be 'uniform' or 'normal', not {noise!r}")
        self.noise, self.shape, self.seed = noise, tuple(int(s) for s in shape), int(seed)

    def sample(self, n: int, step: int) -> torch.Tensor:
        gen = generator(self.seed, TAG_NOISE, step)
        draw = torch.rand if self.noise == "uniform" else torch.randn
        return draw((n, *self.shape), generator=gen)

    def describe(self) -> dict[str, Any]:
        return {"noise": self.noise, "shape": list(self.shape)}


class MixedInputs(Inputs):
    """alpha * fresh noise + (1 - alpha) * base images, in pixel units (Table 11 rows y, z)."""

    def __init__(self, base: Inputs, noise: NoiseSampler, alpha: float):
        if not 0.0 <= alpha <= 1.0:
            raise InputError(f"noise_mix input: alpha must be in [0, 1], not {alpha!r}")
        self.base, self.noise, self.alpha = base, noise, float(alpha)
        self.kind, self.indexed = "noise_mix", False
        self.batch_size, self.steps_per_epoch, self.shape = base.batch_size, base.steps_per_epoch, base.shape

    def with_steps_per_epoch(self, steps: int | None) -> "MixedInputs":
        self.base = self.base.with_steps_per_epoch(steps)
        self.steps_per_epoch = self.base.steps_per_epoch
        return self

    def shard(self, rank: int, world: int) -> "MixedInputs":
        super().shard(rank, world)
        self.base.shard(rank, world)
        return self

    def batch(self, epoch: int, step: int) -> tuple[torch.Tensor, None]:
        images, _ = self.base.batch(epoch, step)
        pixels = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        noise = self.noise.sample(self.batch_size, epoch * self.steps_per_epoch + step)[self.local_slice()]
        noise = noise.to(pixels.device)
        return self.alpha * noise + (1.0 - self.alpha) * pixels, None

    def to(self, device: torch.device) -> "MixedInputs":
        self.base = self.base.to(device)
        return self

    def describe(self) -> dict[str, Any]:
        return {"kind": "noise_mix", "alpha": self.alpha, "noise": self.noise.noise, "base": self.base.describe()}


def input_spec(job: dict[str, Any]) -> dict[str, Any]:
    """job["input"], or the default (the patch file at job["patches_path"]), validated."""
    spec = dict(job.get("input") or {"kind": "patches"})
    kind = spec.get("kind", "patches")
    if kind not in KINDS:
        raise InputError(f"input.kind must be one of {', '.join(KINDS)}, not {kind!r}")
    spec["kind"] = kind
    if kind in ("patches", "noise_mix"):
        sources = [k for k in ("path", "on_the_fly", "sampler") if spec.get(k) is not None]
        if not sources:
            if not job.get("patches_path"):
                raise InputError(f"input.kind={kind!r} needs input.path, input.on_the_fly, input.sampler "
                                 "or job['patches_path']")
            spec["path"] = job["patches_path"]
        elif len(sources) > 1:
            raise InputError(f"input: give one of path, on_the_fly, sampler (got {', '.join(sources)})")
    if kind == "noise_mix":
        spec.setdefault("noise", "normal")
        if "alpha" not in spec:
            raise InputError("input.kind='noise_mix' needs input.alpha (the noise weight, e.g. 0.8 or 0.5)")
    return spec


def describe_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """JSON-able version of an input spec (a Python sampler object becomes its description)."""
    out = {}
    for k, v in spec.items():
        if k == "sampler" and v is not None:
            desc = getattr(v, "describe", None)
            out[k] = desc() if callable(desc) else type(v).__name__
        else:
            out[k] = v
    return out


def build_inputs(spec: dict[str, Any], *, batch_size: int, seed: int, dataset: str | None = None,
                 mirror: str | os.PathLike | None = None, default_shape: tuple[int, int, int] | None = None,
                 device: torch.device | str = "cpu") -> Inputs:
    """The Inputs object of a validated spec (`input_spec`); `device` is where on-the-fly patches
    are rendered (default for their `device` option)."""
    kind = spec["kind"]
    num = int(spec.get("num") or DEFAULT_VIRTUAL_EPOCH)
    if kind in ("patches", "noise_mix"):
        base = _patch_inputs(spec, batch_size, seed, num, mirror, device)
        if kind == "patches":
            return base
        noise = NoiseSampler(spec["noise"], base.shape, derive_seed(seed, TAG_NOISE))
        return MixedInputs(base, noise, float(spec["alpha"]))
    if kind == "dataset":
        from .datasets import ImageFolderDataset, load_dataset

        name = spec.get("name") or dataset
        if not name:
            raise InputError("input.kind='dataset' needs input.name (or the job's dataset)")
        split = spec.get("split", "train")
        if name.startswith("imagefolder:"):
            data = load_dataset(name, split, mirror, size=spec.get("size"))
        else:
            data = load_dataset(name, split, mirror)
        subset = spec.get("subset")
        if subset is not None:
            if not (isinstance(subset, int) and subset >= 1):
                raise InputError(f"input.subset must be a positive integer or null, not {subset!r}")
            data = data.subset(subset)  # a fixed sample spread over all classes, not the first N
        n = len(data)
        images = data if isinstance(data, ImageFolderDataset) else data.images
        return IndexedInputs(images, n, batch_size, seed, "dataset",
                             {"name": name, "split": split, "subset": subset})
    # fresh noise
    if default_shape is None and not spec.get("size"):
        raise InputError(f"input.kind={kind!r} needs input.size (the image side)")
    c, h, w = default_shape or (3, 0, 0)
    if spec.get("size"):
        h = w = int(spec["size"])
    c = int(spec.get("channels") or c)
    noise = NoiseSampler(kind.removeprefix("noise_"), (c, h, w), derive_seed(seed, TAG_NOISE))
    return SampledInputs(noise, batch_size, num, kind, {})


def _patch_inputs(spec: dict[str, Any], batch_size: int, seed: int, num: int, mirror, device) -> Inputs:
    if spec.get("path") is not None:
        images = load_patch_file(spec["path"])
        if images.dtype != torch.uint8 or len(images.shape) != 4:
            raise InputError(f"patch set {spec['path']}: expected uint8 (N, C, P, P), got {images.dtype} "
                             f"{tuple(images.shape)}")
        n = len(images) if spec.get("num") is None else min(len(images), int(spec["num"]))
        window = spec.get("shuffle_window")
        info = {"path": os.fspath(spec["path"]), **({"shuffle_window": window} if window else {})}
        return IndexedInputs(images, n, batch_size, seed, "patches", info, shuffle_window=window)
    if spec.get("on_the_fly") is not None:
        try:
            from .patches import OnTheFlyPatches
        except ImportError as err:
            raise InputError("input.on_the_fly needs augprior.patches.OnTheFlyPatches, which this version "
                             "of the patches package does not provide") from err
        from .patches import PatchSpec

        kwargs = dict(spec["on_the_fly"])
        if "image" not in kwargs:
            raise InputError("input.on_the_fly needs image (a source image name or path) and spec (patch spec)")
        if isinstance(kwargs.get("spec"), dict):
            kwargs["spec"] = PatchSpec.from_dict(kwargs["spec"])
        kwargs.setdefault("spec", PatchSpec())
        kwargs.setdefault("seed", seed)
        kwargs.setdefault("device", str(device))
        kwargs.setdefault("mirror", mirror)
        info = {"on_the_fly": {k: v for k, v in spec["on_the_fly"].items()}}
        return SampledInputs(OnTheFlyPatches(**kwargs), batch_size, num, "patches", info)
    return SampledInputs(spec["sampler"], batch_size, num, "patches", {})
