"""Small Vision Transformers for 32-px input (Table 10's CIFAR-scale analogue of its ViT-B and CaiT-S24
students): timm's VisionTransformer and Cait built at img_size 32 with 4-px patches (64 tokens).

  vit_cifar_d{depth}_w{width}[_p{patch}]    ViT (ViT-B: depth 12, width 768)
  cait_cifar_d{depth}_w{width}[_p{patch}]   CaiT with 2 class-attention layers (CaiT-S24: depth 24, width 384)

Patches are 4 px (64 tokens) unless _p{patch} says otherwise (_p8: 16 tokens, the ci scale's budget).

Heads: width / 64 (at least 1), MLP ratio 4, as ViT-B and CaiT-S24; random weights (no pretrained ones exist).
"""

from __future__ import annotations

from . import ARCHITECTURES, _no_weights


def _kwargs(depth: str, width: str, patch: str | None, num_classes: int, in_chans: int, extra: dict) -> dict:
    w, p = int(width), int(patch or 4)
    if 32 % p:
        raise ValueError(f"patch size {p} must divide the 32-px input")
    heads = max(1, w // 64)
    if w % heads:
        raise ValueError(f"width {w} must be a multiple of its {heads} heads")
    return dict(img_size=32, patch_size=p, in_chans=in_chans, num_classes=num_classes, embed_dim=w,
                depth=int(depth), num_heads=heads, **extra)


@ARCHITECTURES.register("vit_cifar_d{depth}_w{width}[_p{patch}]",
                        pattern=r"vit_cifar_d(?P<depth>\d+)_w(?P<width>\d+)(?:_p(?P<patch>\d+))?",
                        source="cifar")
def _vit(name, num_classes, in_chans, pretrained, kwargs, *, depth, width, patch=None):
    from timm.models.vision_transformer import VisionTransformer

    _no_weights(name, pretrained)
    return VisionTransformer(**_kwargs(depth, width, patch, num_classes, in_chans, kwargs))


@ARCHITECTURES.register("cait_cifar_d{depth}_w{width}[_p{patch}]",
                        pattern=r"cait_cifar_d(?P<depth>\d+)_w(?P<width>\d+)(?:_p(?P<patch>\d+))?",
                        source="cifar")
def _cait(name, num_classes, in_chans, pretrained, kwargs, *, depth, width, patch=None):
    from timm.models.cait import Cait

    _no_weights(name, pretrained)
    return Cait(depth_token_only=2, **_kwargs(depth, width, patch, num_classes, in_chans, kwargs))
