"""Images from a randomly initialised, never trained StyleGAN2-style generator
(Baradad et al., NeurIPS 2021, "Learning to See by Looking at Noise": "StyleGAN-Random").

Generator (StyleGAN2, Karras et al. 2020, "skip" architecture), weights drawn from `seed` with
StyleGAN2's initialisation and equalised-learning-rate scaling (every weight N(0, 1) times
1/sqrt(fan_in); biases 0; style affines' biases 1):
  * mapping network: z ~ N(0, I) (z_dim 512), normalised to unit second moment, `mapping_layers`
    (8) fully connected layers with leaky ReLU (slope 0.2, gain sqrt 2) -> w (w_dim 512).
    With `mix_styles` (default) every layer gets its own z (style mixing at every layer, as
    Baradad et al. sample an independent w per layer). `mapping=False` skips the network and uses
    w = leaky_relu(N(0, I)) per layer, exactly what Baradad et al.'s generation script does.
  * synthesis network: a 4x4 constant input (N(0, 1), "learned" in StyleGAN, random here), then
    one block per resolution 4, 8, ..., render_size. A block: [2x upsampling] -> modulated 3x3
    conv -> per-pixel noise -> bias, activation -> modulated 3x3 conv -> noise -> bias,
    activation, and a toRGB (modulated 1x1 conv without demodulation); RGB outputs of all blocks
    are upsampled and summed (skip architecture). Modulated conv: the weight is scaled per input
    channel by the style s = A(w), then demodulated (each output filter rescaled to unit norm),
    run as one grouped convolution per batch.
    Channels: min(channel_base / resolution, channel_max) (StyleGAN2: 32768 and 512).
    Upsampling: bilinear 2x, which equals StyleGAN2's [1, 3, 3, 1] FIR upsampling filter (StyleGAN2
    fuses it with a transposed convolution for conv0; here it precedes a plain 3x3 convolution).
    Activation: ReLU (gain sqrt 2), as Baradad et al.'s generation script sets it; "lrelu" is
    StyleGAN2's default.
  * noise: N(0, 1) per pixel, scaled by `noise_strength`. StyleGAN2 initialises the (learned)
    strength to 0, which would switch noise off in a random network; Baradad et al.'s own variants
    add noise, so the default here is 0.1 (0 reproduces StyleGAN2's initialisation exactly).
  * a new random network every `images_per_network` images (Baradad et al.: 400), so the set
    mixes many random generators; network g is seeded by (seed, g).

Images are generated at `render_size` (default `size`) and area-downsampled to `size` when larger
(Baradad et al. generated at 256 px).

Normalisation to uint8 (`normalize`):
  "baradad" (default) Baradad et al.'s colour normalisation: every channel of every image is
                      standardised (zero mean, unit std over its pixels), then given a random mean
                      and std drawn per image and channel from N(0.483, 0.145), N(0.219, 0.063)
                      (R), N(0.455, 0.142), N(0.213, 0.062) (G), N(0.401, 0.161), N(0.213, 0.069)
                      (B) (ImageNet-like statistics), clipped to [0, 1] and scaled to [0, 255].
  "minmax"            each image min-max scaled to [0, 255] over all its pixels and channels
                      (keeps the generator's colour balance).
All random inputs (weights, z, noise, normalisation draws) come from CPU generators keyed by
(seed, network index), so the images are the same for any batch_size and on any device (up to
floating-point differences between CPU and CUDA kernels).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

NORMALIZE = ("baradad", "minmax")
ACTIVATIONS = ("relu", "lrelu")
# Baradad et al.'s per-channel (mean of mean, std of mean, mean of std, std of std)
_BARADAD_STATS = ((0.483, 0.145, 0.219, 0.063), (0.455, 0.142, 0.213, 0.062), (0.401, 0.161, 0.213, 0.069))


def _seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0] >> 1)


class RandomStyleGAN:
    """A StyleGAN2-style generator with random weights (plain tensors: nothing is ever trained)."""

    def __init__(self, resolution: int, gen: torch.Generator, *, z_dim: int = 512, w_dim: int = 512,
                 mapping_layers: int = 8, channel_base: int = 32768, channel_max: int = 512,
                 activation: str = "relu", noise_strength: float = 0.1, mapping: bool = True):
        if resolution < 4 or resolution & (resolution - 1):
            raise ValueError(f"render resolution must be a power of two >= 4, got {resolution}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
        self.resolution, self.z_dim, self.w_dim = resolution, z_dim, w_dim
        self.activation, self.noise_strength, self.use_mapping = activation, noise_strength, mapping

        def randn(*shape):
            return torch.randn(*shape, generator=gen)

        def ch(res: int) -> int:
            return min(channel_base // res, channel_max)

        # mapping: equalised lr -> effective weight N(0, 1) / sqrt(fan_in); bias 0
        self.mapping = [randn(w_dim, z_dim if i == 0 else w_dim) / math.sqrt(z_dim if i == 0 else w_dim)
                        for i in range(mapping_layers)] if mapping else []
        self.const = randn(ch(4), 4, 4)
        self.layers: list[dict] = []  # in order of use; kind conv / rgb
        self.block_res = [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]
        c_in = ch(4)
        for res in self.block_res:
            c_out = ch(res)
            convs = [(c_in, c_out, res > 4), (c_out, c_out, False)] if res > 4 else [(c_in, c_out, False)]
            for ci, co, up in convs:
                self.layers.append({"kind": "conv", "res": res, "up": up,
                                    "affine": randn(ci, w_dim) / math.sqrt(w_dim),  # style bias init 1
                                    "weight": randn(co, ci, 3, 3)})
            self.layers.append({"kind": "rgb", "res": res, "affine": randn(c_out, w_dim) / math.sqrt(w_dim),
                                "weight": randn(3, c_out, 1, 1)})
            c_in = c_out
        self.num_styles = len(self.layers)
        self.noise_shapes = [(layer["res"], layer["res"]) for layer in self.layers if layer["kind"] == "conv"]

    def to(self, device: torch.device) -> "RandomStyleGAN":
        self.mapping = [m.to(device) for m in self.mapping]
        self.const = self.const.to(device)
        for layer in self.layers:
            layer["affine"] = layer["affine"].to(device)
            layer["weight"] = layer["weight"].to(device)
        return self

    def map(self, z: torch.Tensor) -> torch.Tensor:
        """w for z (..., z_dim); without a mapping network: leaky_relu(z) (Baradad et al.)."""
        if not self.use_mapping:
            return F.leaky_relu(z, 0.2)
        x = z * torch.rsqrt(z.square().mean(-1, keepdim=True) + 1e-8)
        for weight in self.mapping:
            x = F.leaky_relu(x @ weight.T, 0.2) * math.sqrt(2)
        return x

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x) if self.activation == "relu" else F.leaky_relu(x, 0.2)
        return x * math.sqrt(2)

    @staticmethod
    def _modconv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool) -> torch.Tensor:
        """Modulated convolution, computed as StyleGAN2's non-fused path (identical result):
        scale the input channels by the styles, convolve with the shared weight, then scale each
        output channel by its demodulation coefficient rsqrt(sum (w * s)^2)."""
        out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if demodulate:
            d = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).T + 1e-8)  # (B, co)
            out = out * d[:, :, None, None]
        return out

    @torch.no_grad()
    def synthesis(self, ws: torch.Tensor, noises: list[torch.Tensor]) -> torch.Tensor:
        """ws (B, num_styles, w_dim), noises one (B, 1, H, W) per conv layer -> float RGB (B, 3, R, R)."""
        b = ws.shape[0]
        x = self.const[None].expand(b, -1, -1, -1)
        img = None
        conv_i = 0
        for i, layer in enumerate(self.layers):
            styles = ws[:, i] @ layer["affine"].T + 1.0
            if layer["kind"] == "conv":
                if layer["up"]:
                    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
                x = self._modconv(x, layer["weight"], styles, demodulate=True)
                if self.noise_strength:
                    x = x + self.noise_strength * noises[conv_i]
                x = self._act(x)
                conv_i += 1
            else:
                y = self._modconv(x, layer["weight"], styles / math.sqrt(layer["weight"].shape[1]), demodulate=False)
                if img is not None:
                    img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
                img = y if img is None else img + y
        return img


def _to_uint8(img: torch.Tensor, mode: str, rng: np.random.Generator) -> np.ndarray:
    """Float images (B, 3, H, W) -> uint8 (B, H, W, 3) by `mode` (see the module docstring)."""
    x = img.float().cpu().numpy().astype(np.float64)
    if mode == "baradad":
        mean = x.mean(axis=(2, 3), keepdims=True)
        std = x.std(axis=(2, 3), keepdims=True)
        x = (x - mean) / np.maximum(std, 1e-12)
        stats = np.array(_BARADAD_STATS)
        draws = rng.standard_normal((x.shape[0], 3, 2))
        t_mean = stats[:, 0] + draws[..., 0] * stats[:, 1]
        t_std = stats[:, 2] + draws[..., 1] * stats[:, 3]
        x = x * t_std[..., None, None] + t_mean[..., None, None]
    elif mode == "minmax":
        lo = x.min(axis=(1, 2, 3), keepdims=True)
        hi = x.max(axis=(1, 2, 3), keepdims=True)
        x = (x - lo) / np.maximum(hi - lo, 1e-12)
    else:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)}, not {mode!r}")
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def stylegan_images(num: int, size: int = 32, seed: int = 0, batch_size: int = 64, *, device: str | torch.device = "auto",
                    render_size: int | None = None, images_per_network: int = 400, mapping: bool = True,
                    mix_styles: bool = True, z_dim: int = 512, w_dim: int = 512, mapping_layers: int = 8,
                    channel_base: int = 32768, channel_max: int = 512, activation: str = "relu",
                    noise_strength: float = 0.1, normalize: str = "baradad") -> np.ndarray:
    """`num` images of random-init StyleGAN2-style generators, uint8 (num, size, size, 3).

    See the module docstring for the architecture and options; `device` (cpu | cuda[:N] | auto)
    runs the synthesis there (random inputs are still drawn on the CPU, so results match the
    CPU's up to floating-point rounding).
    """
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}")
    if batch_size < 1 or images_per_network < 1:
        raise ValueError("batch_size and images_per_network must be >= 1")
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)}, not {normalize!r}")
    render_size = render_size or size
    if render_size < size:
        raise ValueError(f"render_size ({render_size}) must be >= size ({size})")
    from ..runtime import select_device

    device = select_device(str(device))  # "auto": CUDA when available
    out = np.empty((num, size, size, 3), dtype=np.uint8)
    for g, start in enumerate(range(0, num, images_per_network)):
        n = min(images_per_network, num - start)
        gen = torch.Generator().manual_seed(_seed(seed, 0x57, g))
        net = RandomStyleGAN(render_size, gen, z_dim=z_dim, w_dim=w_dim, mapping_layers=mapping_layers,
                             channel_base=channel_base, channel_max=channel_max, activation=activation,
                             noise_strength=noise_strength, mapping=mapping).to(device)
        # every random input of this network's images, drawn up front: independent of batch_size
        inputs = torch.Generator().manual_seed(_seed(seed, 0x2A, g))
        z = torch.randn(n, net.num_styles if mix_styles else 1, z_dim, generator=inputs)
        noises = [torch.randn(n, 1, h, w, generator=inputs) for h, w in net.noise_shapes]
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4E, g]))
        for b0 in range(0, n, batch_size):
            sl = slice(b0, min(n, b0 + batch_size))
            ws = net.map(z[sl].to(device)).expand(-1, net.num_styles, -1)
            img = net.synthesis(ws, [nz[sl].to(device) for nz in noises])
            if render_size != size:
                img = F.interpolate(img, size=(size, size), mode="area")
            out[start + sl.start:start + sl.stop] = _to_uint8(img, normalize, rng)
    return out
