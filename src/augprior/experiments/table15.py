"""Table 15: transfer of the 224-px representations. Linear probes on ImageNet-1k and Places-365 and few-shot
linear SVMs on VOC07 (mAP) and Places (accuracy) on the frozen penultimate features of the ImageNet teacher,
torchvision's supervised ResNet-50 and the one-image distilled ResNet-50 (Tables 7/8's City run): one transfer
job per model and column (augprior.analysis.transfer_224), reading ImageFolder data <root>/{train,val}/<class>/*
(large_scale.roots, else <mirror>/data/<dataset>); 1% fine-tuning of the whole network (SwAV's protocol) and COCO
detection (a Faster R-CNN + FPN on the model's trunk, augprior.analysis.detection) are transfer jobs too.
MoCo-v2 on one image is not implemented: its cells are empty with the reason. A CIFAR-scale analogue is its own target, table15_cifar."""

from pydantic import Field, PositiveInt

from .. import tables_224
from . import EXPERIMENTS, Block


class Table15Params(Block):
    image: str = Field("city", description="source image of the one-image student")
    columns: list[str] = Field(list(tables_224.COLUMNS), description="paper columns shown (one cell per model each)")
    image_size: PositiveInt = Field(224, description="side the images are resized (shorter side) and centre-cropped to")
    batch_size: PositiveInt = Field(256, description="images per feature-extraction batch")
    linear_epochs: PositiveInt = Field(30, description="epochs of the linear probe over the extracted train features")
    linear_lr: float = Field(1e-3, gt=0, description="AdamW learning rate of the linear probe (cosine to 0)")
    linear_weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay of the linear probe")
    linear_batch_size: PositiveInt = Field(1024, description="feature vectors per linear-probe step")
    linear_train_images: PositiveInt | None = Field(
        None, description="train images of the linear probes (a fixed class-spread sample; null: all)")
    finetune_epochs: PositiveInt = Field(20, description="1% fine-tuning epochs (SwAV's eval_semisup.py: 20)")
    finetune_lr: float = Field(0.02, gt=0, description="1% fine-tuning SGD learning rate of the trunk (SwAV, 1%: 0.02)")
    finetune_head_lr: float = Field(5.0, gt=0, description="1% fine-tuning SGD learning rate of the new linear head (SwAV, 1%: 5)")
    finetune_decay_epochs: list[PositiveInt] = Field([12, 16], description="epochs after which both lrs decay")
    finetune_gamma: float = Field(0.2, gt=0, le=1, description="lr decay factor at those epochs")
    finetune_batch_size: PositiveInt = Field(256, description="fine-tuning batch (SwAV: 32 per GPU on 8 GPUs)")
    labels_percent: float = Field(1.0, gt=0, le=100, description="labelled share of each class without subset_file")
    subset_file: str | None = Field(None, description="SimCLR's imagenet_subsets/1percent.txt (one train file name per "
                                    "line); null: a seeded labels_percent of each class (a labelled deviation)")
    det_iterations: PositiveInt = Field(90000, description="COCO detection fine-tuning iterations (the 1x schedule)")
    det_batch_size: PositiveInt = Field(16, description="images per detection step (the lr scales with it from 16)")
    det_lr: float = Field(0.02, gt=0, description="detection SGD learning rate at batch 16")
    det_warmup_iters: PositiveInt = Field(1000, description="linear warm-up iterations of the detection lr")
    det_decay_iters: list[PositiveInt] = Field([60000, 80000], description="iterations after which the lr decays x0.1")
    det_min_size: list[PositiveInt] = Field([640, 672, 704, 736, 768, 800], description="training shorter sides (one "
                                            "drawn per batch); tests at 800")
    det_max_val_images: PositiveInt | None = Field(None, description="val2017 images scored (null: all 5000)")
    det_workers: int = Field(8, ge=0, description="COCO decoding worker processes")
    trials: PositiveInt = Field(5, description="few-shot trials averaged (the paper: 5)")
    svm_cost: float = Field(0.5, gt=0, description="the SVMs' cost C (the paper: 0.5)")


@EXPERIMENTS.register("table15", kind="table", params=Table15Params, paper_keys={"table15": ("model",)},
                      title="Table 15: transfer of the 224-px representations (linear probes, few-shot SVMs, detection)")
def cells(ctx):
    return tables_224.table15_cells(ctx)
