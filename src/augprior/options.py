"""Every option of every engine, declared once: type, default (the paper's value), bounds, description.

From these pydantic models come
  - the engines' defaults and validation (`distill.resolve_config`, `augment.resolve_augment`,
    `zeroskd.resolve_config`, `teacher.resolve_config` are thin wrappers of `resolve`),
  - params.yaml's validation (`Params`, used by augprior.config and so by Snakemake before any job),
  - the JSON Schema of params.yaml (`json_schema()`, committed as
    src/augprior/resources/params.schema.json; `python -m augprior.options --write-schema`),
  - the command line's flags and their help (`add_arguments`, used by augprior.cli),
  - the error messages: one line naming the key, the value and what was expected
    (`OptionsError`, a ValueError).

Engines keep receiving plain dicts: `resolve(Model, cfg)` validates and fills the defaults, then
returns `model_dump()`. Numbers keep their type (an int stays an int, so the hash of a job spec
is the same as before the models existed); no bool is taken for a number, no number for a bool.

Each table/figure module of augprior.experiments declares the model of its own params.yaml block
and registers it (`EXPERIMENTS.register(name, ..., params=Model)`); `params_model()` adds one
field per registered experiment to `Params`. Without that registry the blocks are loose mappings.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import types
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Mapping, Optional, Union

from typing import Annotated

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr,
                      ValidationError, create_model, field_validator, model_serializer, model_validator)
from pydantic.json_schema import GenerateJsonSchema

SCHEMA_FILE = Path(__file__).parent / "resources" / "params.schema.json"


class OptionsError(ValueError):
    """Invalid options: a one-line message naming each bad key, its value and what was expected."""


# ----------------------------------------------------------------------------- value types

def _check_arch(name: str) -> str:
    from .models import model_source  # lazy: torch is imported only when an architecture is checked

    if not name:
        raise ValueError("expected an architecture name")
    model_source(name)  # ValueError listing the known families for an unknown name
    return name


Number = Union[StrictInt, StrictFloat]  # an int stays an int (job hashes), a bool is no number
Arch = Annotated[StrictStr, AfterValidator(_check_arch)]
Probability = Annotated[Number, Field(ge=0, le=1)]
Device = Annotated[StrictStr, Field(pattern=r"^(auto|cpu|cuda(:[0-9]+)?|mps)$")]
Precision = Literal["auto", "bf16", "fp32"]


class Options(BaseModel):
    """Base of the option models: unknown keys are errors; `OMIT_WHEN_DEFAULT` fields stay out of the
    dump while at their default (optional keys added after job ids were fixed: ids do not change)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # --lr inf is refused like --lr -1
    OMIT_WHEN_DEFAULT: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        data = handler(self)
        for name in self.OMIT_WHEN_DEFAULT:
            if name in data and data[name] == type(self).model_fields[name].default:
                del data[name]
        return data


# ----------------------------------------------------------------------------- engines

class TeacherOptions(Options):
    """Supervised training on the target dataset (augprior.teacher; the paper's appendix recipe)."""

    OMIT_WHEN_DEFAULT = ("image_size", "pretrained", "checkpoint")

    arch: Arch = Field("wrn40_4", description="architecture of the teacher (wrn40_4, resnet56, vgg19_bn, tv:NAME, timm:NAME ...)")
    schedule: Literal["paper", "onecycle"] = Field(
        "paper", description="paper: the appendix's SGD step schedule (absolute lrs); onecycle: warm-up then cosine to 0")
    epochs: StrictInt = Field(100, ge=0, description="epochs (0: only evaluate and export a pretrained/checkpoint teacher)")
    steps_per_epoch: Optional[StrictInt] = Field(2000, ge=1, description="optimizer steps per epoch (null = one pass over the training set)")
    batch_size: StrictInt = Field(128, ge=1, description="training batch size")
    lr: Number = Field(0.1, gt=0, description="peak learning rate of the onecycle schedule (the paper schedule's lrs are absolute)")
    momentum: Number = Field(0.9, ge=0, description="SGD momentum")
    nesterov: StrictBool = Field(True, description="Nesterov momentum (onecycle; the paper schedule picks it per family)")
    weight_decay: Number = Field(5e-4, ge=0, description="L2 weight decay (not on BatchNorm parameters and biases)")
    label_smoothing: Probability = Field(0.0, description="label smoothing of the cross-entropy")
    cutout: StrictInt = Field(16, ge=0, description="side of the cutout square in pixels (0 = off)")
    train_subset: Optional[StrictInt] = Field(
        None, ge=1, description="train on a fixed seeded sample of N training images spread over all classes (null = all)")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")
    image_size: Optional[StrictInt] = Field(None, ge=1, description="side of imagefolder: images (null = the architecture's input size)")
    pretrained: StrictBool = Field(False, description="start from the torchvision/timm pretrained weights")
    checkpoint: Optional[StrictStr] = Field(None, description="start from the weights in this local file (null = none)")


class PatchOptions(Options):
    """The official single-image patch generator (augprior.patches)."""

    size: StrictInt = Field(32, ge=8, description="patch side P in pixels")
    num: StrictInt = Field(50000, ge=1, description="number of patches")
    engine: Literal["reference", "fast"] = Field(
        "reference", description="reference: per-patch torchvision/PIL as released; fast: batched torch, same distribution")
    geometry: Literal["single", "two_pass"] = Field(
        "single", description="fast engine resampling: single (one affine grid per patch) or two_pass (closer to reference, ~2x slower)")
    workers: StrictInt = Field(1, ge=1, description="worker processes for generation (the output is identical for any count)")
    jpeg_quality: Optional[Annotated[StrictInt, Field(ge=1, le=100)]] = Field(
        75, description="JPEG round-trip quality (the official patches were q75; null = no JPEG round trip)")
    vflip: StrictBool = Field(False, description="random vertical flips (listed in the paper, off in the released generator)")
    seed: StrictInt = Field(0, ge=0, description="seed (patch i depends on the seed and i only)")


class FractalOptions(Options):
    """FractalDB-style IFS fractals (augprior.synthetic.fractal)."""

    num_categories: StrictInt = Field(1000, ge=1, description="number of IFS codes (FractalDB-1k: 1000)")
    fill_threshold: Probability = Field(0.2, description="minimum filled fraction of a code's render to be kept")
    color: Literal["fractaldb", "map", "gray"] = Field("fractaldb", description="colouring of the rendered points")
    patch: StrictBool = Field(False, description="FractalDB's patch rendering (3x3 squares instead of points)")
    render_size: Optional[StrictInt] = Field(None, ge=1, description="side the fractals are rendered at before resizing (null = automatic)")


class StyleGANOptions(Options):
    """Random-init StyleGAN2-style generators (augprior.synthetic.stylegan)."""

    channel_max: StrictInt = Field(512, ge=1, description="maximum channels per synthesis layer")
    noise_strength: Number = Field(0.1, ge=0, description="strength of the per-pixel noise inputs")
    images_per_network: StrictInt = Field(400, ge=1, description="images drawn from each random network")
    mapping: StrictBool = Field(False, description="use the mapping network (z -> w); Baradad et al.'s script skips it (w = leaky_relu(z))")
    render_size: Optional[StrictInt] = Field(
        256, ge=4, description="side the images are rendered at (a power of two) before area-downsampling to `size` "
                               "(Baradad et al.: 256; null = size)")
    normalize: Literal["baradad", "minmax"] = Field("baradad", description="output normalisation to [0, 255]")
    batch_size: StrictInt = Field(64, ge=1, description="images synthesised per batch")


class SyntheticOptions(Options):
    """Table 2's synthetic image sets (augprior.synthetic)."""

    num: StrictInt = Field(50000, ge=1, description="images per set")
    size: StrictInt = Field(32, ge=8, description="image side in pixels")
    seed: StrictInt = Field(0, ge=0, description="seed of the set")
    fractal: FractalOptions = Field(FractalOptions(), description="options of the fractal set")
    stylegan: StyleGANOptions = Field(StyleGANOptions(), description="options of the StyleGAN set")


class ZeroSKDParams(Options):
    """Zero-shot KD with an adversarial generator (Micaelli & Storkey 2019; Table 2); params.yaml's
    block: the student comes from the table."""

    OMIT_WHEN_DEFAULT = ("allow_dataset_mismatch",)

    iterations: StrictInt = Field(80000, ge=1, description="outer iterations (pseudo batches)")
    batch_size: StrictInt = Field(128, ge=2, description="generated images per iteration (>= 2: batch norm)")
    n_g: StrictInt = Field(1, ge=0, description="generator steps per iteration (0 = a fixed random generator)")
    n_s: StrictInt = Field(10, ge=1, description="student steps per iteration (on the same images)")
    lr_g: Number = Field(1e-3, gt=0, description="Adam learning rate of the generator")
    lr_s: Number = Field(2e-3, gt=0, description="Adam learning rate of the student")
    beta: Number = Field(250.0, ge=0, description="attention-transfer weight (0 = off)")
    z_dim: StrictInt = Field(100, ge=1, description="dimension of the generator's noise input")
    temperature: Number = Field(1.0, gt=0, description="softmax temperature of both networks")
    kl_reduction: Literal["elementwise", "batchmean"] = Field(
        "elementwise", description="elementwise: mean over batch and classes (official code); batchmean: per-image KL")
    grad_clip: Number = Field(5.0, ge=0, description="max gradient norm, generator and student (0 = off)")
    lr_schedule: Literal["cosine", "constant"] = Field("cosine", description="learning-rate schedule of both optimizers")
    log_every: StrictInt = Field(0, ge=0, description="curve point every N iterations (0 = iterations // 100)")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N iterations (0 = only at the end)")
    eval_subset: Optional[StrictInt] = Field(
        None, ge=1, description="evaluate on a fixed seeded sample of N test images spread over the classes (null = all)")
    checkpoint_every: StrictInt = Field(1000, ge=0, description="iterations between state.pt checkpoints (0 = never)")
    allow_dataset_mismatch: StrictBool = Field(
        False, description="evaluate a teacher on a dataset other than the one its model file records "
                           "(refused otherwise; recorded in metrics.json as dataset_mismatch and a deviation)")


class ZeroSKDOptions(ZeroSKDParams):
    """The ZeroSKD engine's options (augprior.synthetic.zeroskd): params.yaml's block plus the student."""

    student: Arch = Field("wrn40_1", description="student architecture")


class AugmentOptions(Options):
    """Distillation augmentation (augprior.augment), applied on the device to every batch."""

    hflip: StrictBool = Field(True, description="random horizontal flip (p = 0.5)")
    random_crop: StrictBool = Field(True, description="zero-pad and random crop (the CIFAR recipe)")
    crop_padding: StrictInt = Field(4, ge=0, description="zero padding of the random crop in pixels")
    mixup: StrictBool = Field(False, description="MixUp with the reversed batch")
    mixup_alpha: Number = Field(1.0, gt=0, description="MixUp lambda ~ Beta(alpha, alpha) (1.0 = U(0, 1), the official CIFAR code)")
    cutmix: StrictBool = Field(True, description="CutMix with the reversed batch")
    cutmix_beta: Number = Field(0.25, gt=0, description="CutMix lambda ~ Beta(beta, beta) (0.25 CIFAR, 1.0 ImageNet)")
    random_resized_crop: StrictBool = Field(False, description="random resized crop (the ImageNet set)")
    rrc_size: Optional[StrictInt] = Field(None, ge=1, description="output side of the random resized crop (null = the input side)")
    rrc_scale: list[Annotated[StrictFloat, Field(gt=0, le=1)]] = Field(
        [0.08, 1.0], min_length=2, max_length=2, description="[low, high] area fraction of the random resized crop")
    rrc_ratio: list[Annotated[StrictFloat, Field(gt=0)]] = Field(
        [0.75, 4.0 / 3.0], min_length=2, max_length=2, description="[low, high] aspect ratio of the random resized crop")
    color_jitter: list[Annotated[StrictFloat, Field(ge=0)]] = Field(
        [0.4, 0.4, 0.4, 0.4], min_length=4, max_length=4,
        description="[brightness, contrast, saturation, hue] of the colour jitter (hue <= 0.5)")
    color_jitter_p: Probability = Field(0.0, description="colour-jitter probability per image (0 = off; ImageNet: 0.8)")
    grayscale_p: Probability = Field(0.0, description="grayscale probability per image (ImageNet: 0.2)")
    solarize_p: Probability = Field(0.0, description="solarize probability per image (ImageNet: 0.2)")

    @field_validator("rrc_scale", "rrc_ratio")
    @classmethod
    def _ordered(cls, v: list[float]) -> list[float]:
        if v[0] > v[1]:
            raise ValueError("expected [low, high] with low <= high")
        return v

    @field_validator("color_jitter")
    @classmethod
    def _hue(cls, v: list[float]) -> list[float]:
        if v[3] > 0.5:
            raise ValueError("expected [brightness, contrast, saturation, hue] >= 0 with hue <= 0.5")
        return v


class DistillOptions(Options):
    """Knowledge distillation by function matching (augprior.distill; the official CIFAR recipe)."""

    OMIT_WHEN_DEFAULT = ("allow_dataset_mismatch", "image_size", "steps_per_epoch", "momentum", "nesterov",
                         "eval_at_start")

    student: Arch = Field("wrn16_4", description="student architecture")
    epochs: StrictInt = Field(1000, ge=1, description="epochs (one pass over the inputs each, or steps_per_epoch steps)")
    steps_per_epoch: Optional[StrictInt] = Field(
        None, ge=1, description="optimizer steps per epoch for every source (null = one pass over the inputs): "
        "equal step budgets for sources of different sizes; a fixed set is reshuffled at the end of each pass")
    batch_size: StrictInt = Field(512, ge=2, description="batch size (>= 2: MixUp/CutMix partners and batch norm)")
    optimizer: Literal["adam", "adamw", "sgd"] = Field(
        "adam", description="adam (weight decay added to the gradient), adamw (decoupled) or sgd (momentum; "
                            "no weight decay on BatchNorm parameters and biases, as the teacher)")
    lr: Number = Field(1e-3, gt=0, description="learning rate (lr_schedule paper: unused, its lrs are absolute)")
    lr_schedule: Literal["constant", "cosine", "linear", "paper"] = Field(
        "constant", description="constant (paper), cosine or linear decay to 0 after the warm-up, or paper: the "
                                "appendix's SGD step schedule of the student's family (absolute lrs; as teacher.schedule)")
    momentum: Number = Field(0.9, ge=0, description="SGD momentum (optimizer sgd)")
    nesterov: StrictBool = Field(True, description="Nesterov momentum (optimizer sgd; lr_schedule paper picks it per family)")
    warmup_epochs: Number = Field(0, ge=0, description="linear learning-rate warm-up, in epochs (fractions allowed)")
    weight_decay: Number = Field(0.0, ge=0, description="weight decay")
    temperature: Number = Field(8.0, gt=0, description="softmax temperature T of teacher and student")
    t2_factor: StrictBool = Field(False, description="multiply the KD loss by T^2 (off in the official code)")
    loss: Literal["kd", "l1", "l2"] = Field("kd", description="kd (KL on softmax(t/T)) or l1 / l2 on t/T (Table 9)")
    signal: Literal["full", "topk", "argmax"] = Field("full", description="teacher signal: full distribution, top-k renormalised, or argmax (Table 3b)")
    topk: StrictInt = Field(5, ge=1, description="k of signal topk")
    augment: AugmentOptions = Field(AugmentOptions(), description="augmentation of every batch")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")
    eval_subset: Optional[StrictInt] = Field(
        None, ge=1, description="evaluate on a fixed seeded sample of N test images spread over the classes (null = all)")
    eval_at_start: StrictBool = Field(
        False, description="also evaluate the student at initialisation (curve point epoch 0: the same network "
                           "untrained, the baseline of what distillation added)")
    cache_teacher_logits: StrictBool = Field(
        False, description="DEVIATION: teacher outputs once per un-augmented input, mixed like the inputs")
    checkpoint_every_steps: StrictInt = Field(0, ge=0, description="extra mid-epoch checkpoints every N steps (0 = only at epoch ends)")
    compile: StrictBool = Field(False, description="torch.compile student and teacher")
    fold_teacher_bn: StrictBool = Field(True, description="fold the frozen teacher's conv+BN pairs (exact up to rounding; faster)")
    channels_last: Optional[StrictBool] = Field(None, description="channels-last memory format (null = on with bf16 or CUDA)")
    deterministic: StrictBool = Field(False, description="torch.use_deterministic_algorithms for the run")
    allow_dataset_mismatch: StrictBool = Field(
        False, description="evaluate a teacher on a dataset other than the one its model file records "
                           "(refused otherwise; recorded in metrics.json as dataset_mismatch and a deviation)")
    image_size: Optional[StrictInt] = Field(
        None, ge=8, description="side in pixels of imagefolder: images, distillation inputs and test set "
                                "(null = the teacher's input size, recorded in its model file)")

    @model_validator(mode="after")
    def _loss_and_signal(self) -> "DistillOptions":
        if self.loss != "kd" and self.signal != "full":
            raise ValueError(f"distill.loss={self.loss!r} regresses the teacher's logits and is defined for "
                             f"signal='full' only (got signal={self.signal!r}); use loss='kd' for top-k/argmax targets")
        if self.lr_schedule == "paper" and (self.optimizer != "sgd" or self.warmup_epochs):
            raise ValueError(f"distill.lr_schedule='paper' is an SGD step schedule with its own warm-up: it needs "
                             f"optimizer='sgd' and warmup_epochs=0 (got {self.optimizer!r}, {self.warmup_epochs})")
        return self


def _distill_overrides(v: dict[str, Any]) -> dict[str, Any]:
    from .config import deep_merge

    try:
        validate(DistillOptions, deep_merge(DistillOptions().model_dump(), v), "distill")
    except OptionsError as err:
        raise ValueError(str(err)) from None
    return v


# a table's overrides of the distill block: valid once merged over its defaults (unknown keys, bad values: errors)
DistillOverrides = Annotated[dict[str, Any], AfterValidator(_distill_overrides)]


class CompressParams(Options):
    """Compression by self-distillation (augprior.compress; Tables 13, 14): a clone of the teacher is pruned or
    quantisation-aware fine-tuned to match the teacher; the loss, temperature and augmentation are distill's."""

    epochs: StrictInt = Field(30, ge=1, description="fine-tuning epochs (one pass over the inputs each; the paper gives none)")
    batch_size: StrictInt = Field(256, ge=2, description="batch size of the fine-tuning")
    lr: Number = Field(1e-4, gt=0, description="Adam learning rate of the fine-tuning")
    prune_begin: Number = Field(0.0, ge=0, lt=1, description="fraction of the steps at which the sparsity starts to rise")
    prune_end: Number = Field(0.7, gt=0, le=1, description="fraction of the steps at which the target sparsity is reached")
    prune_every: StrictInt = Field(100, ge=1, description="steps between mask updates (TF-MOT's frequency)")
    prune_power: Number = Field(3, gt=0, description="exponent of the polynomial sparsity schedule (TF-MOT PolynomialDecay: 3)")
    qat_freeze_after: Number = Field(0.7, ge=0, le=1, description="fraction of the steps after which QAT freezes its observers and BN statistics")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")

    @model_validator(mode="after")
    def _schedule(self) -> "CompressParams":
        if self.prune_end <= self.prune_begin:
            raise ValueError(f"compress.prune_end ({self.prune_end}) must be above prune_begin ({self.prune_begin})")
        return self


class CompressOptions(CompressParams):
    """The compression engine's options: params.yaml's block plus what the table picks."""

    method: Literal["prune", "qat"] = Field("prune", description="prune (magnitude pruning) or qat (8-bit quantisation-aware training, x86 int8)")
    sparsity: Number = Field(0.5, ge=0, lt=1, description="target fraction of zero weights in every conv and linear layer (prune)")


class VideoFakeOptions(Options):
    """The fake videos of one image (official data_generation/make_fakevideo_dataset.py; augprior.video.fakevideo)."""

    image: StrictStr = Field("city", min_length=1, description="source image (the paper: City)")
    num: StrictInt = Field(200000, ge=1, description="number of fake clips (the paper: 200K)")
    frames: StrictInt = Field(12, ge=1, description="frames per clip (the paper: 12; the script's default 16)")
    size: StrictInt = Field(230, ge=8, description="frame side in pixels (the script's --img_size)")
    initcrop: Number = Field(0.5, gt=0, le=1, description="side of the initial square crop relative to the image's shorter side")
    scale: list[Annotated[Number, Field(ge=1)]] = Field(
        [500, 1], min_length=2, max_length=2, description="inverse area fractions of the two crop boxes (1/500 .. 1)")
    seed: StrictInt = Field(0, ge=0, description="seed (clip k depends on the seed and k only)")
    store: StrictBool = Field(True, description="write the clips once (a uint8 .npy + .json; 1.9 MB a clip at 12 x 230 px) "
                                                "instead of rendering them in the loader workers every epoch (~0.14 s a clip)")
    workers: StrictInt = Field(8, ge=1, description="processes writing a stored set (the output is identical for any count)")


class VideoFinetuneOptions(Options):
    """Supervised fine-tuning of the Kinetics X3D-XS on the target (a teacher source "finetune:hub"); the paper
    fine-tunes its UCF-101 teacher so but gives no recipe: these values are this project's choice."""

    epochs: StrictInt = Field(30, ge=1, description="epochs (one random clip of every training video each)")
    batch_size: StrictInt = Field(64, ge=2, description="batch size")
    optimizer: Literal["adam", "adamw"] = Field("adamw", description="optimizer")
    lr: Number = Field(1e-4, gt=0, description="learning rate")
    lr_schedule: Literal["constant", "cosine", "linear"] = Field("cosine", description="after the warm-up")
    warmup_epochs: Number = Field(2, ge=0, description="linear warm-up in epochs")
    weight_decay: Number = Field(0.05, ge=0, description="decoupled weight decay")
    label_smoothing: Probability = Field(0.0, description="label smoothing of the cross-entropy")


class VideoOptions(Options):
    """Single-image video distillation (Table 6; official video/distiller.py, paper Appendix B.1)."""

    teacher: Arch = Field("x3d_xs", description="teacher architecture (its crop size and clip length are the student's too)")
    student: Arch = Field("x3d_xs_expanded", description="student architecture (X3D-XS, depth factor 3, width factor 5: 18.1M parameters)")
    epochs: StrictInt = Field(400, ge=1, description="epochs (one pass over the fake clips each)")
    batch_size: StrictInt = Field(256, ge=2, description="batch size (the paper: 128 per GPU on two GPUs)")
    optimizer: Literal["adam", "adamw"] = Field("adamw", description="adamw (the official code) or adam")
    lr: Number = Field(1e-3, gt=0, description="learning rate")
    lr_schedule: Literal["constant", "cosine", "linear"] = Field("cosine", description="after the warm-up")
    warmup_epochs: Number = Field(5, ge=0, description="linear warm-up in epochs")
    weight_decay: Number = Field(0.0, ge=0, description="decoupled weight decay (the paper: none)")
    temperature: Number = Field(5.0, gt=0, description="KD temperature T")
    augmix: StrictBool = Field(True, description="AugMix (pytorchvideo) on every training clip")
    cutmix: StrictBool = Field(True, description="CutMix on every batch")
    cutmix_beta: Number = Field(1.0, gt=0, description="CutMix lambda ~ Beta(beta, beta)")
    hflip: StrictBool = Field(True, description="random horizontal flip of training clips")
    short_side: list[Annotated[StrictInt, Field(ge=1)]] = Field(
        [183, 229], min_length=2, max_length=2, description="random shorter side of training clips before the crop [min, max]")
    test_clips: StrictInt = Field(10, ge=1, description="temporal clips per test video (predictions averaged)")
    test_short_side: StrictInt = Field(183, ge=1, description="shorter side of test clips before the centre crop")
    test_stride: StrictInt = Field(12, ge=1, description="temporal subsampling of test clips: a clip spans frames x stride frames at the nominal fps")
    test_batch_size: StrictInt = Field(8, ge=1, description="test videos per forward batch (x test_clips clips)")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")
    eval_subset: Optional[StrictInt] = Field(None, ge=1, description="evaluate on a fixed seeded sample of N test videos (null = all)")
    checkpoint_every_steps: StrictInt = Field(0, ge=0, description="extra mid-epoch checkpoints every N steps (0 = only at epoch ends)")
    workers: StrictInt = Field(8, ge=0, description="loader worker processes (clip rendering, augmentation, decoding)")
    fake: VideoFakeOptions = Field(VideoFakeOptions(), description=VideoFakeOptions.__doc__)
    finetune: VideoFinetuneOptions = Field(VideoFinetuneOptions(), description=VideoFinetuneOptions.__doc__.split("\n")[0])

    @model_validator(mode="after")
    def _ranges(self) -> "VideoOptions":
        if self.short_side[0] > self.short_side[1]:
            raise ValueError(f"video.short_side must be [min, max] with min <= max, got {self.short_side}")
        if self.fake.scale[0] < self.fake.scale[1]:
            raise ValueError(f"video.fake.scale must be [a, b] with a >= b (inverse area fractions), got {self.fake.scale}")
        return self


class AudioTeacherOptions(Options):
    """Supervised audio teacher (augprior.audio.train; paper Appendix C.4.2: Adam, lr 1e-3, batch 128)."""

    arch: Arch = Field("audio_cnn", description="architecture (audio_cnn: the paper's C.3 CNN; audio_cnn_s{k}: widths / k)")
    epochs: StrictInt = Field(200, ge=1, description="epochs (not stated in the paper)")
    steps_per_epoch: Optional[StrictInt] = Field(None, ge=1, description="steps per epoch (null = one pass over the training clips)")
    batch_size: StrictInt = Field(128, ge=1, description="batch size")
    lr: Number = Field(1e-3, gt=0, description="Adam learning rate (fixed)")
    l2: Number = Field(1e-4, ge=0, description="L2 regularisation rate on every convolution's weights")
    crop_seconds: Number = Field(1.0, gt=0, description="random training crop in seconds (the model's input)")
    train_subset: Optional[StrictInt] = Field(None, ge=1, description="train on a fixed seeded sample of N clips (null = all)")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")


class AudioClipOptions(Options):
    """The clip set of one source clip (augprior.audio.clipset; paper Appendix C.1)."""

    num: StrictInt = Field(50000, ge=1, description="number of augmented crops (the paper: 50K)")
    crop_seconds: Number = Field(2.0, gt=0, description="random crop of the source in seconds (the paper: 2)")
    source_seconds: Number = Field(300.0, gt=0, description="length of the synthesised stand-in clips (the paper's clips: ~5 min)")
    seed: StrictInt = Field(0, ge=0, description="seed (clip i depends on the seed and i only)")
    workers: StrictInt = Field(4, ge=1, description="processes (the output is identical for any count)")


class AudioDistillOptions(Options):
    """Audio KD on the clip set (augprior.audio.train; paper C.4.2: Adam, lr 1e-3, batch 512, MixUp; T = 8)."""

    student: Arch = Field("audio_cnn", description="student architecture")
    epochs: StrictInt = Field(1000, ge=1, description="epochs over the clip set (not stated for audio; the image runs' 1000)")
    steps_per_epoch: Optional[StrictInt] = Field(None, ge=1, description="steps per epoch (null = one pass over the clips)")
    batch_size: StrictInt = Field(512, ge=1, description="batch size")
    lr: Number = Field(1e-3, gt=0, description="Adam learning rate (fixed)")
    l2: Number = Field(1e-4, ge=0, description="L2 regularisation rate on every convolution's weights")
    temperature: Number = Field(8.0, gt=0, description="KD temperature T (paper C.4.1: 8 throughout)")
    mixup: StrictBool = Field(True, description="MixUp of each batch with its reverse, lambda ~ U(0, 1)")
    crop_seconds: Number = Field(1.0, gt=0, description="random 1-s crop of each clip (the model's input)")
    full_data_subset: Optional[StrictInt] = Field(None, ge=1, description="cap on the full-data row's training clips (null = all)")
    eval_every: StrictInt = Field(0, ge=0, description="test-set evaluation every N epochs (0 = only at the end)")


class AudioOptions(Options):
    """Single-clip audio distillation (Table 5, Fig. 10; augprior.audio)."""

    teacher: AudioTeacherOptions = Field(AudioTeacherOptions(), description=AudioTeacherOptions.__doc__)
    clips: AudioClipOptions = Field(AudioClipOptions(), description=AudioClipOptions.__doc__)
    distill: AudioDistillOptions = Field(AudioDistillOptions(), description=AudioDistillOptions.__doc__)


# ----------------------------------------------------------------------------- params.yaml

class DataOptions(Options):
    mirror: Optional[StrictStr] = Field(None, description="folder laid out like the offline mirror (data/, images/); $AUGPRIOR_MIRROR wins")
    download: StrictBool = Field(True, description="false: cells needing a dataset not in the cache or mirror stay empty, with the reason")


class RuleResources(Options):
    gpu: StrictInt = Field(0, ge=0, description="GPUs per job")
    cpus: StrictInt = Field(1, ge=1, description="CPU cores per job (local runs: threads)")
    mem_mb: StrictInt = Field(16000, ge=1, description="memory per job in MB")
    runtime: StrictInt = Field(240, ge=1, description="time limit per job in minutes")


class ResourcesOptions(Options):
    teacher: RuleResources = Field(RuleResources(gpu=1, cpus=8, mem_mb=32000, runtime=2880), description="teacher training jobs")
    patches: RuleResources = Field(RuleResources(gpu=0, cpus=4, mem_mb=16000, runtime=240), description="patch and synthetic set jobs")
    distill: RuleResources = Field(RuleResources(gpu=1, cpus=8, mem_mb=32000, runtime=4320), description="distillation and ZeroSKD jobs")
    analysis: RuleResources = Field(RuleResources(gpu=1, cpus=8, mem_mb=32000, runtime=240), description="analysis figures (feature extraction on the GPU, t-SNE on the CPUs)")
    transfer: RuleResources = Field(RuleResources(gpu=1, cpus=16, mem_mb=64000, runtime=2880), description="Table 15's transfer evaluations: features of a 224-px model on ImageNet-1k / Places-365 train + val (JPEG-decoded by the CPUs) for a linear probe or few-shot SVMs, 1% fine-tuning, and COCO detection (90k Faster R-CNN iterations: about a day on one GPU, not resumable mid-run)")
    imagenet_c: RuleResources = Field(RuleResources(gpu=1, cpus=16, mem_mb=64000, runtime=2880), description="ImageNet-C evaluations (Table 16): 76 passes over the 50,000 val images, JPEG-decoded by the CPUs; corrupting absent folders here (single-process, on the CPU) takes most of the time")
    video: RuleResources = Field(RuleResources(gpu=1, cpus=16, mem_mb=64000, runtime=4320), description="video teacher, fake-video and video distillation jobs (Table 6)")
    distill_224: RuleResources = Field(RuleResources(gpu=2, cpus=16, mem_mb=64000, runtime=4320), description="224-px distillations (Tables 7, 8, 10; the paper: DDP on 2 GPUs): gpu > 1 runs them data-parallel under torchrun, one process per GPU")


class PatchStorageOptions(Options):
    """How a patch set far larger than memory reaches the distillation (large_scale.patches.storage; the
    paper's 1,281,167 patches of 256 px are 252 GB as uint8 pixels)."""

    kind: Literal["shards", "on_the_fly"] = Field(
        "shards", description="shards: written once as a folder of .npy shards of about 1 GiB (a killed job resumes at "
                              "the first missing shard; index.json last) and streamed through memory maps; on_the_fly: "
                              "no set on disk, each step renders its batch on the training device (the fast engine), "
                              "seeded by the step, so a resumed run sees the same patches")
    shuffle_window: Optional[StrictInt] = Field(
        16, ge=1, description="shards: shards read together when shuffling (each epoch permutes the shards, then the "
                              "patches within each run of this many; every patch once per epoch); null = one global "
                              "shuffle (random reads across the whole set)")


class LargeScaleOptions(Options):
    """The 224-px runs (Tables 7, 8, 10, 15, 16; Appendix C.4.3): datasets as ImageFolder layouts, and the
    teacher / patch / distillation settings merged over the teacher, patches and distill blocks for them."""

    roots: dict[str, Optional[StrictStr]] = Field(
        {}, description="dataset (imagenet1k, imagenet100, stl10, flowers102, places365) -> its ImageFolder root "
                        "(<root>/train/<class>/*, <root>/val/<class>/*; null or absent = <mirror>/data/<dataset>)")
    plan_missing: StrictBool = Field(
        True, description="plan the jobs where a dataset's folder is not here yet (a cluster run; they then fail with "
                          "one line naming the folder); false: those cells stay empty with the reason")
    pretrained_teachers: dict[str, StrictStr] = Field(
        {"imagenet1k": "resnet18"}, description="dataset -> teacher architecture taken from its torchvision/timm "
                                                "ImageNet weights (evaluated and exported, not trained)")
    teacher: dict[str, Any] = Field({}, description="overrides of the teacher block for teachers trained on these datasets")
    patches: dict[str, Any] = Field({}, description="overrides of the patches block (the paper: 256 px, 1,281,167 patches)")
    distill: dict[str, Any] = Field({}, description="overrides of the distill block (the official ImageNet recipe)")

    @field_validator("teacher", "patches", "distill")
    @classmethod
    def _partial(cls, v: dict[str, Any], info) -> dict[str, Any]:
        from .config import deep_merge

        model = {"teacher": TeacherOptions, "patches": PatchOptions, "distill": DistillOptions}[info.field_name]
        if info.field_name == "patches" and "storage" in v:  # how the set is stored, not what it holds
            v = {**v, "storage": PatchStorageOptions.model_validate(v["storage"]).model_dump()}
        model.model_validate(deep_merge(model().model_dump(), {k: x for k, x in v.items() if k != "storage"}))
        return v


# Appendix C.4.2: "The supervised and standard (using source data) distillation models are trained for 100
# epochs (per epoch 2000 steps) with a batch size of 128 using SGD", with the teacher's step schedules
# (augprior.teacher.PAPER_SCHEDULES). Weight decay is not stated: the teacher block's 5e-4.
FULL_DATA_RECIPE: dict[str, Any] = {"optimizer": "sgd", "lr_schedule": "paper", "lr": 0.1, "momentum": 0.9,
                                    "weight_decay": 5e-4, "batch_size": 128, "epochs": 100, "steps_per_epoch": 2000,
                                    "warmup_epochs": 0}


# table/figure blocks while augprior.experiments has no registry of params models: loose mappings
LOOSE_BLOCKS = ("table1", "table2", "table3", "table4", "table9", "table11", "table12", "fig2", "fig4")
_Loose = dict[str, Any]


class Params(Options):
    """params.yaml: the paper's values, and `scales` of partial overrides picked by `scale`."""

    scale: StrictStr = Field("paper", min_length=1, description="the block of `scales` merged over these values")
    scales: dict[str, Optional[dict[str, Any]]] = Field(
        {"paper": {}}, description="name -> partial settings deep-merged over the base values (validated after the merge)")
    seed: StrictInt = Field(0, ge=0, description="seed of the first replicate; replicates use seed, seed+1, ...")
    device: Device = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    precision: Precision = Field("auto", description="auto (bf16 where the device has bf16 units) | bf16 | fp32")
    num_threads: Optional[StrictInt] = Field(None, ge=1, description="torch CPU threads (null = the job's snakemake threads)")
    data: DataOptions = Field(DataOptions(), description="where data comes from")
    full_data_subset: Optional[StrictInt] = Field(
        None, ge=1, description="cap on 'full data' distillation sources: a seeded class-spread sample (null = all training images)")
    source_images: dict[str, StrictStr] = Field(
        {"animals": "animals_large"}, description="source name -> the image its patches are cut from (the paper's "
        "1300x600 Animals: the mirror's 1600x600 animals_large; names not listed are themselves)")
    teacher: TeacherOptions = Field(TeacherOptions(), description=TeacherOptions.__doc__.split("\n")[0])
    patches: PatchOptions = Field(PatchOptions(), description=PatchOptions.__doc__)
    synthetic: SyntheticOptions = Field(SyntheticOptions(), description=SyntheticOptions.__doc__)
    zeroskd: ZeroSKDParams = Field(ZeroSKDParams(), description="zero-shot KD (Table 2); the student comes from the table")
    distill: DistillOptions = Field(DistillOptions(), description=DistillOptions.__doc__)
    distill_full_data: Optional[dict[str, Any]] = Field(
        FULL_DATA_RECIPE, description="overrides of the distill block for 'source data' distillations (a dataset: "
                                      "source; Appendix C.4.2: SGD, batch 128, 100 epochs of 2000 steps, the "
                                      "family's step schedule); null = the distill block as is")
    video: VideoOptions = Field(VideoOptions(), description=VideoOptions.__doc__)
    audio: AudioOptions = Field(AudioOptions(), description=AudioOptions.__doc__)
    compress: CompressParams = Field(CompressParams(), description="compression by self-distillation (Tables 13, 14)")
    large_scale: LargeScaleOptions = Field(LargeScaleOptions(), description=LargeScaleOptions.__doc__.split("\n")[0])
    resources: ResourcesOptions = Field(ResourcesOptions(), description="per-rule cluster resources (SLURM profile)")
    table1: _Loose = Field({}, description="Table 1: distillation data")
    table2: _Loose = Field({}, description="Table 2: 1 image vs synthetic data")
    table3: _Loose = Field({}, description="Table 3: source image, teacher signal, augmentation")
    table4: _Loose = Field({}, description="Table 4: architecture pairs, full data vs 1 image")
    table9: _Loose = Field({}, description="Table 9: loss functions")
    table11: _Loose = Field({}, description="Table 11: noise inputs instead of patches")
    table12: _Loose = Field({}, description="Table 12: seeds")
    fig2: _Loose = Field({}, description="Figure 2: source images vs their JPEG size")
    fig4: _Loose = Field({}, description="Figure 4: student depth vs width")

    @field_validator("distill_full_data")
    @classmethod
    def _full_data_recipe(cls, v: Optional[dict[str, Any]], info) -> Optional[dict[str, Any]]:
        from .config import deep_merge

        base = info.data.get("distill")
        if v is not None and base is not None:  # valid merged over this scale's distill block
            try:
                validate(DistillOptions, deep_merge(base.model_dump(), v), "distill_full_data")
            except OptionsError as err:
                raise ValueError(str(err)) from None
        return v


def _experiment_params() -> dict[str, tuple[type[BaseModel], str]]:
    """{name: (params model, title)} of the experiments registered in augprior.experiments, if any."""
    try:
        from . import experiments
    except ImportError:
        return {}
    registry = getattr(experiments, "EXPERIMENTS", None)
    if registry is None:
        return {}
    out = {}
    for name in registry.names():
        meta = registry.meta(name) if hasattr(registry, "meta") else {}
        model = meta.get("params") if isinstance(meta, Mapping) else None
        if model is None:
            model = getattr(registry.get(name), "params", None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            title = meta.get("title", name) if isinstance(meta, Mapping) else name
            out[name] = (model, str(title))
    return out


@lru_cache(maxsize=1)
def params_model() -> type[Params]:
    """`Params` with one field per experiment registered in augprior.experiments (its params model)."""
    fields = {name: (model, Field(model(), description=title))
              for name, (model, title) in _experiment_params().items()}
    if not fields:
        return Params
    return create_model("Params", __base__=Params, __doc__=Params.__doc__, **fields)


# ----------------------------------------------------------------------------- validation

def validate(model: type[BaseModel], data: Any, where: str = "") -> BaseModel:
    """`model.model_validate(data)`; an invalid value raises OptionsError naming `where`.key."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise OptionsError(describe_errors(model, data, err, where)) from None


def resolve(model: type[BaseModel], cfg: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """The plain dict an engine receives: `cfg` over the model's defaults, validated."""
    return validate(model, dict(cfg or {}), where).model_dump()


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The model's defaults as a plain dict (the paper's values)."""
    return model().model_dump()


def choices(model: type[BaseModel], name: str) -> tuple[Any, ...]:
    """The values a Literal field accepts."""
    from typing import get_args, get_origin

    ann = model.model_fields[name].annotation
    return next(get_args(a) for a in (ann, *get_args(ann)) if get_origin(a) is Literal)


def describe_errors(model: type[BaseModel], data: Any, err: ValidationError, where: str = "") -> str:
    """One line: `key = value: expected ...` for each bad key (unknown keys: the known ones)."""
    schema = _schema(model)
    lines: list[str] = []
    seen: set[tuple] = set()
    for e in err.errors():
        path, node = _field_path(schema, e["loc"])
        names = [where] * bool(where) + [str(p) for p in path]
        key = ".".join(names)
        if e["type"] == "extra_forbidden":
            known = ", ".join(node.get("properties", {}))
            line = f"{'.'.join(names + [str(e['loc'][len(path)])])}: unknown key; known: {known}"
        elif path in seen:  # one line per key (a union reports each of its members)
            continue
        else:
            seen.add(path)
            value = _lookup(data, path, e.get("input"))
            if e["type"] in ("value_error", "assertion_error"):
                msg = str(e.get("ctx", {}).get("error", e["msg"]))
                if "properties" not in node:  # a field's own check (a mapping's: it names the bad key)
                    line = msg if msg.startswith((key + ".", key + ":")) else f"{key} = {value!r}: {msg}"
                elif names and msg.startswith(names[-1] + "."):  # a model's check naming its key already
                    line = ".".join(names[:-1] + [msg])
                else:
                    line = f"{key or 'params'}: {msg}"
            elif e["type"] == "missing":
                line = f"{key}: missing"
            else:
                line = f"{key or 'params'} = {value!r}: expected {_expected(node, schema)}"
        if line not in lines:
            lines.append(line)
    return "; ".join(lines)


def _deref(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    return node


def _field_path(schema: dict[str, Any], loc: tuple) -> tuple[tuple, dict[str, Any]]:
    """The longest prefix of `loc` that names (nested) fields, and the schema of that field."""
    node, path = schema, []
    for part in loc:
        props = _properties(node, schema)
        if not isinstance(part, str) or part not in props:
            break
        node = props[part]
        path.append(part)
    return tuple(path), _deref(node, schema)


def _properties(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    node = _deref(node, schema)
    if "properties" in node:
        return node["properties"]
    for member in node.get("anyOf", []):
        if "properties" in (m := _deref(member, schema)):
            return m["properties"]
    return {}


def _lookup(data: Any, path: tuple, fallback: Any) -> Any:
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return fallback
        data = data[part]
    return data


def _show(v: Any) -> str:
    return json.dumps(v) if v is None or isinstance(v, bool) else (repr(v) if isinstance(v, str) else str(v))


def _expected(node: dict[str, Any], schema: dict[str, Any]) -> str:
    """What a schema node accepts, in words: 'an integer >= 2', 'null or one of 'a', 'b''."""
    node = _deref(node, schema)
    if "enum" in node:
        return "one of " + ", ".join(_show(v) for v in node["enum"])
    if "const" in node:
        return _show(node["const"])
    if "anyOf" in node:
        parts = [_expected(m, schema) for m in node["anyOf"]]
        return " or ".join(sorted(parts, key=lambda p: p != "null"))
    kind = node.get("type")
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true or false"
    if kind in ("integer", "number"):
        lo = (">=", node["minimum"]) if "minimum" in node else (">", node["exclusiveMinimum"]) \
            if "exclusiveMinimum" in node else None
        hi = ("<=", node["maximum"]) if "maximum" in node else ("<", node["exclusiveMaximum"]) \
            if "exclusiveMaximum" in node else None
        text = "an integer" if kind == "integer" else "a number"
        if lo and hi:
            return f"{text} in {'[' if lo[0] == '>=' else '('}{lo[1]}, {hi[1]}{']' if hi[0] == '<=' else ')'}"
        return " ".join([text] + [f"{b[0]} {b[1]}" for b in (lo, hi) if b])
    if kind == "string":
        return f"a string matching {node['pattern']}" if "pattern" in node else "a string"
    if kind == "array":
        n = node.get("minItems")
        count = f"{n} " if n is not None and n == node.get("maxItems") else ""
        item = _expected(node.get("items", {}), schema) if node.get("items") else "anything"
        return f"a list of {count}items, each {item}"
    if kind == "object":
        return "a mapping"
    return "a valid value"


# ----------------------------------------------------------------------------- JSON Schema

class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
_NUMBER = [{"type": "integer"}, {"type": "number"}]


def _tidy(node: Any) -> Any:
    """JSON Schema keywords for pydantic's int-or-float unions (`anyOf` + pydantic's gt/ge names)."""
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: (v if k in ("default", "enum", "const", "examples") else _tidy(v)) for k, v in node.items()}
    if node.get("anyOf") == _NUMBER:
        del node["anyOf"]
        node = {"type": "number", **{_BOUNDS.get(k, k): v for k, v in node.items()}}
    node.pop("title", None) if "properties" not in node else None
    return node


@lru_cache(maxsize=None)
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return _tidy(model.model_json_schema(schema_generator=_Generator))


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of params.yaml, generated from `params_model()`."""
    schema = copy.deepcopy(_schema(params_model()))
    block = {"type": "object", "additionalProperties": False,
             "description": "partial settings: any key of the base except scale and scales (checked after the merge)",
             "properties": {k: {key: v for key, v in node.items() if key != "default"}
                            for k, node in schema["properties"].items() if k not in ("scale", "scales")}}
    schema["$defs"]["ScaleBlock"] = block
    schema["properties"]["scales"]["additionalProperties"] = {"anyOf": [{"$ref": "#/$defs/ScaleBlock"},
                                                                        {"type": "null"}]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://augprior/params.schema.json",
            "title": "augprior params.yaml",
            "$comment": "GENERATED from augprior.options (python -m augprior.options --write-schema); do not edit",
            **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=1) + "\n"


# ----------------------------------------------------------------------------- command-line flags

def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _parse_optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_or_null(text: str) -> Any:
        return None if text.lower() in ("none", "null", "off") else parse(text)

    return parse_or_null


def _leaf_parser(annotation: Any) -> Callable[[str], Any] | None:
    """A str -> value parser for a scalar annotation (int, number, str, Literal), else None."""
    from typing import get_args, get_origin

    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _leaf_parser(args[0])
    if origin in (Union, types.UnionType):  # Optional[X] and X | None
        members = [a for a in args if a is not type(None)]
        if set(map(_base, members)) == {int, float}:
            parse: Callable[[str], Any] = _parse_number
        elif len(members) == 1:
            parse = _leaf_parser(members[0])
        else:
            return None
        return _parse_optional(parse) if type(None) in args and parse else parse
    if origin is Literal:
        return str
    return {int: int, float: float, str: str}.get(_base(annotation))


def _base(annotation: Any) -> Any:
    from typing import get_args, get_origin

    return _base(get_args(annotation)[0]) if get_origin(annotation) is Annotated else annotation


def _is_bool(annotation: Any) -> bool:
    from typing import get_args, get_origin

    if get_origin(annotation) is Union:
        return all(_is_bool(a) or a is type(None) for a in get_args(annotation))
    return _base(annotation) is bool


def _checked(parse: Callable[[str], Any], model: type[BaseModel], name: str) -> Callable[[str], Any]:
    """Parse a flag's text and check it against the field's declaration (argparse: exit 2 if bad)."""

    def check(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected {_expected(_schema(model)['properties'][name], _schema(model))}") from None
        try:
            model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
        except ValidationError as err:
            raise argparse.ArgumentTypeError(describe_errors(model, {name: value}, err).split(" = ", 1)[-1]) from None
        return value

    check.__name__ = name  # argparse's "invalid <name> value" wording
    return check


def add_arguments(group: Any, model: type[BaseModel], dest_prefix: str = "", *, skip: tuple[str, ...] = (),
                  flags: Mapping[str, str] | None = None, defaults_from: Mapping[str, Any] | None = None) -> list[str]:
    """Add one flag per field of `model` to an argparse parser/group; returns the dests added.

    Flags are --field-name (or `flags[name]`), dest `dest_prefix + name`, absent unless given (so that
    only what the command line gives overrides params.yaml; `none`/`null` give None where allowed); help = the field's description and default;
    Literal fields get choices, bools --flag/--no-flag, fixed-length lists nargs. Values are checked
    against the declaration as they are parsed. Nested models are skipped (add them separately).
    """
    from typing import get_args, get_origin

    dests = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            continue
        flag = (flags or {}).get(name, "--" + name.replace("_", "-"))
        default = (defaults_from or {}).get(name, field.get_default(call_default_factory=True))
        kw: dict[str, Any] = {"dest": dest_prefix + name, "default": argparse.SUPPRESS,
                              "help": f"{field.description} (default: {default if isinstance(default, str) else _show(default)})".replace("%", "%%")}
        if _is_bool(ann):
            kw["action"] = argparse.BooleanOptionalAction
        elif get_origin(ann) is list:
            n = next((m.max_length for m in field.metadata if getattr(m, "max_length", None)), None)
            kw.update(nargs=n or "+", type=_leaf_parser(get_args(ann)[0]) or str, metavar=name.upper())
        else:
            parse = _leaf_parser(ann)
            if parse is None:
                continue
            literal = next((a for a in [ann, *get_args(ann)] if get_origin(a) is Literal), None)
            if literal is not None:
                kw["choices"] = list(get_args(literal))
            else:
                kw["type"] = _checked(parse, model, name)
                kw["metavar"] = name.upper()
        group.add_argument(flag, **kw)
        dests.append(dest_prefix + name)
    return dests


def given(args: argparse.Namespace, model: type[BaseModel], dest_prefix: str = "") -> dict[str, Any]:
    """{field: value} of the flags of `model` that the command line gave."""
    return {name: getattr(args, dest_prefix + name) for name in model.model_fields
            if hasattr(args, dest_prefix + name)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m augprior.options", description="params.yaml's JSON Schema")
    parser.add_argument("--write-schema", action="store_true", help=f"(re)write {SCHEMA_FILE}")
    parser.add_argument("--check-schema", action="store_true", help="exit 1 if the committed schema is stale")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.write_schema:
        SCHEMA_FILE.write_text(text)
        print(f"wrote {SCHEMA_FILE}")
    elif args.check_schema:
        if SCHEMA_FILE.read_text() != text:
            print(f"{SCHEMA_FILE} is stale: run python -m augprior.options --write-schema", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
