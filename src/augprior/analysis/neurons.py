"""Activation maximisation (feature visualisation; Olah et al. 2017), the parts of the Lucent library the paper
used (Figs 6, 12, 13), without its dependency: an image parameterised in a decorrelated Fourier basis (each
frequency scaled by 1/f, colours decorrelated with Lucent's ImageNet colour-correlation matrix, squashed by a
sigmoid), random pad / jitter / scale / rotation at every step, Adam on the parameters.

    images, trace = visualize(model, mean, std, targets=[(layer, channel), ...], side=32, steps=256, seed=0)

A target is (module name, channel): the mean over positions of that channel of the module's output, or
(None, class) for the model's output (the class neuron's logit). All targets are rendered as one batch (one
image each); `trace` is the mean objective at every step. Deterministic for a seed (CPU).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Lucent's colour correlation (the square root of the ImageNet colour covariance, from its SVD)
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()


class FourierImage(nn.Module):
    """n RGB images in [0, 1] of side `side` from a 1/f-scaled Fourier spectrum with decorrelated colours."""

    def __init__(self, n: int, side: int, generator: torch.Generator, sd: float = 0.01, decay_power: float = 1.0):
        super().__init__()
        fy = torch.fft.fftfreq(side)[:, None]
        fx = torch.fft.rfftfreq(side)[None, :]
        freqs = torch.sqrt(fx ** 2 + fy ** 2)
        self.register_buffer("scale", 1.0 / torch.clamp(freqs, min=1.0 / side) ** decay_power)  # Lucent: ortho irfft
        self.side = side
        self.spectrum = nn.Parameter(sd * torch.randn(n, 3, side, side // 2 + 1, 2, generator=generator))

    def forward(self) -> torch.Tensor:
        spec = torch.view_as_complex(self.spectrum) * self.scale
        img = torch.fft.irfft2(spec, s=(self.side, self.side), norm="ortho") / 4.0
        img = torch.einsum("nchw,dc->ndhw", img, COLOR.to(img))
        return torch.sigmoid(img)


def random_transform(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Lucent's standard transforms, scaled to the image side: pad, jitter, scale, rotate, jitter."""
    side = x.shape[-1]
    # Lucent's pixel sizes at 224 px (pad 12, jitter 8, then 4), proportionally smaller for smaller images
    pad, jit, jit2 = (max(1, round(v * side / 224)) for v in (12, 8, 4))
    x = F.pad(x, (pad,) * 4, value=0.5)

    def jitter(x, d):
        dx, dy = (int(v) for v in torch.randint(0, d + 1, (2,), generator=gen))
        return x[..., dy:x.shape[-2] - d + dy, dx:x.shape[-1] - d + dx]

    x = jitter(x, jit)
    s = 1 + (int(torch.randint(0, 11, (1,), generator=gen)) - 5) / 50
    a = math.radians(int(torch.randint(-10, 11, (1,), generator=gen)))
    theta = torch.tensor([[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]],
                         dtype=x.dtype, device=x.device).expand(len(x), 2, 3)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False,
                      padding_mode="border")
    return jitter(x, jit2)


def visualize(model: nn.Module, mean, std, targets: list[tuple[str | None, int]], *, side: int, steps: int = 256,
              lr: float = 0.05, seed: int = 0, device: torch.device | str = "cpu") -> tuple[torch.Tensor, list[float]]:
    """(images (n, 3, side, side) in [0, 1] on the CPU, mean objective per step) maximising each target."""
    model = model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    image = FourierImage(len(targets), side, gen).to(device)
    opt = torch.optim.Adam(image.parameters(), lr=lr)
    m = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device).view(1, -1, 1, 1)
    layers = sorted({name for name, _ in targets if name is not None})
    captured: dict[str, torch.Tensor] = {}
    hooks = [model.get_submodule(n).register_forward_hook(lambda _m, _i, o, n=n: captured.__setitem__(n, o))
             for n in layers]
    channels = torch.tensor([c for _, c in targets], device=device)
    groups = {name: torch.tensor([i for i, (n, _) in enumerate(targets) if n == name], device=device)
              for name in dict.fromkeys(n for n, _ in targets)}

    def objective(x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False) if x.shape[-1] != side else x
        out = model((x - m) / s)
        per = torch.zeros(len(targets), device=device)
        for name, rows in groups.items():  # one gather per layer
            act = out if name is None else captured[name]
            picked = act[rows, channels[rows]]
            per = per.index_put((rows,), picked.flatten(1).mean(1) if picked.dim() > 1 else picked)
        return per

    trace = []
    try:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            per = objective(random_transform(image(), gen))
            (-per.sum()).backward()
            opt.step()
            trace.append(float(per.detach().mean()))
        with torch.no_grad():
            final = image().detach().cpu()
    finally:
        for h in hooks:
            h.remove()
    return final, trace


def target_activation(model: nn.Module, mean, std, images: torch.Tensor, targets: list[tuple[str | None, int]],
                      device: torch.device | str = "cpu") -> torch.Tensor:
    """Each target's activation for its own image (no transforms): what `visualize` maximises."""
    model = model.eval().to(device)
    layers = sorted({n for n, _ in targets if n is not None})
    captured: dict[str, torch.Tensor] = {}
    hooks = [model.get_submodule(n).register_forward_hook(lambda _m, _i, o, n=n: captured.__setitem__(n, o))
             for n in layers]
    try:
        with torch.no_grad():
            x = images.to(device)
            out = model((x - torch.tensor(mean, device=device).view(1, -1, 1, 1))
                        / torch.tensor(std, device=device).view(1, -1, 1, 1))
            vals = [(out if n is None else captured[n])[i, c] for i, (n, c) in enumerate(targets)]
            return torch.stack([v.mean() for v in vals]).cpu()
    finally:
        for h in hooks:
            h.remove()
