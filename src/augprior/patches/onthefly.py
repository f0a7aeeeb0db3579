"""On-the-fly patches: fresh patches every training step instead of a fixed set.

    otf = OnTheFlyPatches("animals", PatchSpec(size=32), seed=0, device="cuda")
    x = otf.sample(512, step)      # torch.uint8 (512, 3, 32, 32) on the device

Patch k of step s is a pure function of (image, spec, seed, s, k): the Philox counter holds
index (s << 32) | k in a stream of its own (never equal to a materialised set's patches), so
a resumed run sees the same patches, and sample(n, s)[:m] == sample(m, s).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from .generate import check_image
from .params import STREAM_ONLINE, sample_params
from .spec import PatchError, PatchSpec


class OnTheFlyPatches:
    def __init__(self, image: Any, spec: PatchSpec, seed: int = 0, device: str | torch.device = "cpu",
                 engine: str = "fast", geometry: str = "single", mirror: str | os.PathLike | None = None,
                 md5: str | None = None):
        from ..source_images import SourceImage, load_source

        if isinstance(image, np.ndarray):
            pixels, self.source = check_image(image), None
        else:
            src = image if isinstance(image, SourceImage) else load_source(str(image), md5=md5, mirror=mirror)
            pixels, self.source = src.pixels, src.info()
        spec.check_source(*pixels.shape[:2], name=(self.source or {}).get("path") or "source image")
        if engine not in ("fast", "reference"):
            raise PatchError(f"engine must be fast or reference, not {engine!r}")
        self.spec, self.seed, self.engine = spec, int(seed), engine
        self.device = torch.device(device)
        self.height, self.width = pixels.shape[:2]
        if engine == "fast":
            from .fast import FastRenderer

            self._renderer = FastRenderer(pixels, spec, device=self.device, geometry=geometry)
        else:
            from .reference import to_pil

            self._pil = to_pil(pixels)

    def params(self, n: int, step: int, start: int = 0):
        if n < 0 or start < 0 or not 0 <= step < 2**32 or start + n > 2**32:
            raise PatchError(f"need 0 <= start, n, start + n <= 2**32 and 0 <= step < 2**32, not start={start}, "
                             f"n={n}, step={step}")
        idx = (np.uint64(step) << np.uint64(32)) | np.arange(start, start + n, dtype=np.uint64)
        return sample_params(self.seed, self.height, self.width, self.spec, indices=idx, stream=STREAM_ONLINE)

    def sample(self, n: int, step: int) -> torch.Tensor:
        """n fresh patches for training step `step`: torch.uint8 (n, 3, P, P) on the device."""
        return self.sample_range(0, n, step)

    def sample_range(self, start: int, stop: int, step: int) -> torch.Tensor:
        """Patches start..stop-1 of step `step` (== sample(stop, step)[start:]): one data-parallel rank's slice."""
        p = self.params(stop - start, step, start)
        if self.engine == "fast":
            return self._renderer.render(p)
        from .reference import render

        return torch.from_numpy(render(self._pil, p, self.spec)).permute(0, 3, 1, 2).contiguous().to(self.device)

    def describe(self) -> dict[str, Any]:
        return {"mode": "on_the_fly", "source": self.source, "spec": self.spec.to_dict(), "seed": self.seed,
                "engine": self.engine, "device": str(self.device)}
