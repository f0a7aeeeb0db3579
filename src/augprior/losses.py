"""Distillation targets and losses (paper Table 3b: teacher signal; Table 9: loss function).

A loss is computed in two stages so that targets can be mixed linearly when the teacher's
outputs are cached (see `mix_targets`):

1. `prepare_targets(teacher_logits, ...)` turns teacher logits into the regression target:
   - loss "kd": a probability distribution q over the classes (float32), by `signal`:
       full    q = softmax(t / T)
       topk    q = softmax(t / T) with every entry outside the k largest set to 0, then
               renormalised to sum to 1. Equivalently: softmax over the top-k logits only
               (at temperature T), 0 elsewhere. Ties at the k-th value are broken by
               torch.topk (exactly k entries are kept). k >= number of classes == full.
       argmax  q = one-hot(argmax t): a hard label; T does not change the target (it still
               softens the student's side, log_softmax(s / T)).
   - loss "l1" / "l2": the temperature-scaled teacher logits t / T (float32); only
     signal "full" is defined for logit regression.
2. `loss_from_targets(student_logits, targets, ...)`:
       kd  KL(q || softmax(s / T)) = sum_c q_c (log q_c - log softmax(s / T)_c), summed over
           classes and averaged over the batch ("batchmean", as the official PyTorch code's
           nn.KLDivLoss(reduction="batchmean"); the TF code's KLDivergence is the same
           quantity). Multiplied by T^2 only when t2_factor is on (off in the official code).
       l1  mean over batch AND classes of |s / T - t / T|
       l2  mean over batch AND classes of (s / T - t / T)^2
All losses are computed in float32 whatever the autocast dtype of the logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SIGNALS = ("full", "topk", "argmax")
LOSSES = ("kd", "l1", "l2")


def check(loss: str, signal: str, temperature: float, topk: int) -> None:
    """Raise ValueError for a combination that has no definition."""
    if loss not in LOSSES:
        raise ValueError(f"distill.loss must be one of {', '.join(LOSSES)}, not {loss!r}")
    if signal not in SIGNALS:
        raise ValueError(f"distill.signal must be one of {', '.join(SIGNALS)}, not {signal!r}")
    if not temperature > 0:
        raise ValueError(f"distill.temperature must be > 0, not {temperature!r}")
    if signal == "topk" and (not isinstance(topk, int) or topk < 1):
        raise ValueError(f"distill.topk must be an integer >= 1, not {topk!r}")
    if loss != "kd" and signal != "full":
        raise ValueError(f"distill.loss={loss!r} regresses the teacher's logits and is defined for "
                         f"signal='full' only (got signal={signal!r}); use loss='kd' for top-k/argmax targets")


def teacher_targets(teacher_logits: torch.Tensor, temperature: float, signal: str, topk: int = 5) -> torch.Tensor:
    """The teacher's target distribution (float32, rows sum to 1); see the module docstring."""
    t = teacher_logits.float()
    if signal == "argmax":
        return F.one_hot(t.argmax(1), t.shape[1]).float()
    if signal not in ("full", "topk"):
        raise ValueError(f"unknown teacher signal {signal!r}; expected one of {', '.join(SIGNALS)}")
    t = t / temperature
    if signal == "topk" and topk < t.shape[1]:
        keep = torch.zeros_like(t, dtype=torch.bool).scatter_(1, t.topk(topk, dim=1).indices, True)
        t = t.masked_fill(~keep, float("-inf"))
    return F.softmax(t, dim=1)


def prepare_targets(teacher_logits: torch.Tensor, *, loss: str, signal: str, temperature: float,
                    topk: int = 5) -> torch.Tensor:
    """Regression target for `loss_from_targets`: probabilities (kd) or t / T (l1, l2)."""
    if loss == "kd":
        return teacher_targets(teacher_logits, temperature, signal, topk)
    check(loss, signal, temperature, topk)
    return teacher_logits.float() / temperature


def kd_loss(student_logits: torch.Tensor, target: torch.Tensor, temperature: float, t2: bool = False) -> torch.Tensor:
    """KL(target || softmax(student / T)), batchmean; times T^2 when `t2`."""
    log_p = F.log_softmax(student_logits.float() / temperature, dim=1)
    loss = F.kl_div(log_p, target, reduction="batchmean")
    return loss * temperature**2 if t2 else loss


def loss_from_targets(student_logits: torch.Tensor, targets: torch.Tensor, *, loss: str, temperature: float,
                      t2_factor: bool = False) -> torch.Tensor:
    if loss == "kd":
        return kd_loss(student_logits, targets, temperature, t2_factor)
    scaled = student_logits.float() / temperature
    if loss == "l1":
        return F.l1_loss(scaled, targets, reduction="mean")
    if loss == "l2":
        return F.mse_loss(scaled, targets, reduction="mean")
    raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")


def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, *, loss: str = "kd",
                 signal: str = "full", temperature: float = 8.0, topk: int = 5,
                 t2_factor: bool = False) -> torch.Tensor:
    """The distillation loss of a batch (function matching: both logits are of the same inputs)."""
    targets = prepare_targets(teacher_logits, loss=loss, signal=signal, temperature=temperature, topk=topk)
    return loss_from_targets(student_logits, targets, loss=loss, temperature=temperature, t2_factor=t2_factor)


def mix_targets(targets: torch.Tensor, lams: list[float]) -> torch.Tensor:
    """Targets of a batch mixed like its inputs: for each lam (in order), t <- lam t + (1 - lam) t.flip(0).

    Matches augment's MixUp/CutMix (partner = the batch reversed; for CutMix lam is the exact
    fraction of pixels kept). Used only with cached teacher outputs: under function matching the
    teacher sees the mixed batch itself.
    """
    for lam in lams:
        targets = lam * targets + (1.0 - lam) * targets.flip(0)
    return targets
