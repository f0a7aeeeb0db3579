"""VGG-11/13/16/19 with batch norm, CIFAR variant (Simonyan & Zisserman 2015 configs A/B/D/E).

Conv stack of the ImageNet VGG (3x3 convs + BN + ReLU, five 2x2 max-pools), then a global
average pool and the small classifier commonly used for 32-px input
(512 -> 512 -> 512 -> classes, ReLU + dropout), as in chenyaofo/pytorch-cifar-models:
VGG-11-BN 9.76M, VGG-16-BN 15.25M, VGG-19-BN 20.57M parameters for 10 classes.
Pools use ceil_mode so that 28-px inputs (Fashion-MNIST) survive all five pools (28->14->7->4->2->1);
for 32-px inputs ceil_mode changes nothing.
"""

from __future__ import annotations

import torch
import torch.nn as nn

CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class CifarVGG(nn.Module):
    def __init__(self, depth: int, num_classes: int, in_chans: int = 3, dropout: float = 0.5):
        super().__init__()
        if depth not in CONFIGS:
            raise ValueError(f"VGG depth must be one of {sorted(CONFIGS)}, got {depth}")
        layers: list[nn.Module] = []
        c_in = in_chans
        for v in CONFIGS[depth]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)]
                c_in = int(v)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(512, num_classes),
        )
        self.num_features = 512
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))
