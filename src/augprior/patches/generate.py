"""generate(): patches of one image, by either engine, deterministic in (seed, patch index)."""

from __future__ import annotations

import collections
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

import numpy as np

from .params import sample_params
from .spec import PatchError, PatchSpec

ENGINES = ("reference", "fast")


def check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise PatchError(f"expected an RGB uint8 image array (H, W, 3), got {arr.dtype} {arr.shape}")
    return arr


def default_batch_size(spec: PatchSpec, engine: str) -> int:
    if engine == "reference":
        return max(1, min(1024, (1 << 22) // (spec.size * spec.size * 3)))
    return max(1, min(4096, (1 << 24) // (spec.size * spec.size * 3)))


class _Renderer:
    """Renders patch ranges [start, start + n) of one image with one engine (in one process)."""

    def __init__(self, image: np.ndarray, spec: PatchSpec, seed: int, engine: str, device: str,
                 geometry: str):
        self.arr, self.spec, self.seed, self.engine = image, spec, seed, engine
        self.H, self.W = image.shape[:2]
        if engine == "reference":
            from . import reference

            self._pil = reference.to_pil(image)
        else:
            from .fast import FastRenderer

            self._fast = FastRenderer(image, spec, device=device, geometry=geometry)

    def __call__(self, start: int, n: int) -> np.ndarray:
        params = sample_params(self.seed, self.H, self.W, self.spec, n, start=start)
        if self.engine == "reference":
            from . import reference

            return reference.render(self._pil, params, self.spec)
        return self._fast.render(params).permute(0, 2, 3, 1).contiguous().cpu().numpy()


_WORKER: _Renderer | None = None


def _init_worker(*args) -> None:
    import torch

    torch.set_num_threads(1)
    global _WORKER
    _WORKER = _Renderer(*args)


def _work(task: tuple[int, int]) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER(*task)


def in_order(pool: ProcessPoolExecutor, work, tasks: list, workers: int) -> Iterator[np.ndarray]:
    """work(task) for each task on `pool`, yielded in task order; a bounded window of futures keeps memory
    at ~2 chunks per worker however long the run."""
    pending: collections.deque = collections.deque()
    it = iter(tasks)
    for t in it:
        pending.append(pool.submit(work, t))
        if len(pending) >= 2 * workers:
            break
    while pending:
        out = pending.popleft().result()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(pool.submit(work, nxt))
        yield out


class Producer:
    """Yields patches in order, in chunks, from this process or from a pool of worker processes.

    Chunk i covers patches [start + i * batch_size, ...). Every patch depends only on
    (image, spec, seed, index), so batch size and worker count never change the bytes.
    """

    def __init__(self, image: np.ndarray, spec: PatchSpec, seed: int, engine: str = "reference",
                 device: str = "cpu", batch_size: int | None = None, workers: int = 1,
                 geometry: str = "single"):
        arr = check_image(image)
        if engine not in ENGINES:
            raise PatchError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if workers < 1:
            raise PatchError(f"workers must be >= 1, not {workers}")
        if workers > 1 and str(device).startswith("cuda"):
            raise PatchError("worker processes are for the CPU; on a GPU use workers=1")
        spec.check_source(*arr.shape[:2])
        self.spec, self.seed = spec, seed
        self.batch_size = batch_size or default_batch_size(spec, engine)
        self.workers = workers
        args = (arr, spec, seed, engine, str(device), geometry)
        if workers == 1:
            self._local: _Renderer | None = _Renderer(*args)
            self._pool = None
        else:
            self._local = None
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=args)

    def chunks(self, start: int, num: int) -> Iterator[np.ndarray]:
        if num < 0 or start < 0:
            raise PatchError(f"start and num must be >= 0, not {start}, {num}")
        tasks = self.tasks(start, num)
        if self._local is not None:
            for t in tasks:
                yield self._local(*t)
            return
        yield from in_order(self._pool, self.work, tasks, self.workers)

    work = staticmethod(_work)  # what a pool worker runs on a task (module-level: it is pickled by name)

    def tasks(self, start: int, num: int) -> list[tuple[int, ...]]:
        """The renderer calls that make patches [start, start + num), in order."""
        return [(s, min(self.batch_size, start + num - s)) for s in range(start, start + num, self.batch_size)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def generate(image: np.ndarray, spec: PatchSpec, num: int, seed: int = 0, engine: str = "reference",
             device: str = "cpu", batch_size: int | None = None, workers: int = 1,
             geometry: str = "single") -> np.ndarray:
    """`num` patches of `image` (RGB uint8 H x W x 3): uint8 array (num, P, P, 3).

    Patch i depends only on (image, spec, seed, i): any batch size or worker count gives the
    same bytes (on the CPU). `geometry` picks the fast engine's resampling (see fast.FastRenderer).
    """
    if num < 0:
        raise PatchError(f"num must be >= 0, not {num}")
    out = np.empty((num, spec.size, spec.size, 3), dtype=np.uint8)
    k = 0
    with Producer(image, spec, seed, engine, device, batch_size, workers, geometry) as prod:
        for chunk in prod.chunks(0, num):
            out[k:k + len(chunk)] = chunk
            k += len(chunk)
    return out
