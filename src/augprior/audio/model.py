"""The paper's audio CNN (Appendix C.3, after Tagliasacchi et al. 2019), registered as `audio_cnn`.

Four blocks; each has a temporal (1 x 4) and a frequency (4 x 1) convolution whose outputs are
concatenated and joined by a 1 x 1 convolution, then GroupNorm and ReLU; max-pooling by 2 and spatial
dropout 0.2 between blocks; 24, 32, 64, 128 feature maps; global max pooling; a linear layer. The
paper's L2 regularisation (1e-4 on every convolution) is `l2_penalty`, added to the loss by the trainer.
Input: log-Mel spectrograms (B, 1, mels, frames).

`audio_cnn_s{k}` is the same network with every width divided by k (for the small scales: laptop/ci CPUs).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..models import ARCHITECTURES

WIDTHS = (24, 32, 64, 128)
GROUPS = 8


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 4):
        super().__init__()
        lo, hi = (kernel - 1) // 2, kernel // 2  # TF's "same" padding for an even kernel
        self.time = nn.Sequential(nn.ZeroPad2d((lo, hi, 0, 0)), nn.Conv2d(cin, cout, (1, kernel)))
        self.freq = nn.Sequential(nn.ZeroPad2d((0, 0, lo, hi)), nn.Conv2d(cin, cout, (kernel, 1)))
        self.join = nn.Conv2d(2 * cout, cout, 1)
        self.norm = nn.GroupNorm(math.gcd(GROUPS, cout), cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.join(torch.cat([self.time(x), self.freq(x)], 1))))


class AudioCNN(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, widths: tuple[int, ...] = WIDTHS, dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_chans
        for i, w in enumerate(widths):
            if i:
                layers += [nn.MaxPool2d(2), nn.Dropout2d(dropout)]
            layers.append(Block(cin, w))
            cin = w
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).amax(dim=(2, 3)))


def l2_penalty(model: nn.Module, rate: float) -> torch.Tensor:
    """rate x the sum of squared convolution weights (Keras' kernel_regularizer=l2(rate))."""
    return rate * sum(m.weight.square().sum() for m in model.modules() if isinstance(m, nn.Conv2d))


@ARCHITECTURES.register("audio_cnn[_s{k}]", pattern=r"audio_cnn(?:_s(?P<slim>\d+))?", source="audio")
def _audio_cnn(name, num_classes, in_chans, pretrained, kwargs, *, slim=None):
    if pretrained:
        raise ValueError(f"{name} has no published weights: pass checkpoint=PATH instead of pretrained=True")
    k = int(slim or 1)
    if not 1 <= k <= 24:
        raise ValueError(f"{name}: the width divisor must be 1..24")
    return AudioCNN(num_classes, in_chans, widths=tuple(max(1, w // k) for w in WIDTHS), **kwargs)
