import math

import pytest
import torch
import torch.nn.functional as F

from augprior import losses


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 10, generator=g) * 4, torch.randn(6, 10, generator=g) * 4


def test_full_signal_is_tempered_softmax(logits):
    _, t = logits
    q = losses.teacher_targets(t, 8.0, "full")
    assert torch.allclose(q, F.softmax(t / 8.0, dim=1))
    assert torch.allclose(q.sum(1), torch.ones(6))


def test_topk_keeps_k_largest_and_renormalises(logits):
    _, t = logits
    q = losses.teacher_targets(t, 4.0, "topk", topk=3)
    p = F.softmax(t / 4.0, dim=1)
    top = p.topk(3, dim=1).indices
    assert ((q > 0).sum(1) == 3).all()
    kept = torch.zeros_like(p, dtype=torch.bool).scatter_(1, top, True)
    assert (q[~kept] == 0).all()
    # renormalised restriction of the full distribution ...
    ref = torch.where(kept, p, torch.zeros_like(p))
    ref = ref / ref.sum(1, keepdim=True)
    assert torch.allclose(q, ref, atol=1e-6)
    # ... which equals a softmax over the top-k logits alone
    t_top = t.gather(1, top)
    assert torch.allclose(q.gather(1, top), F.softmax(t_top / 4.0, dim=1), atol=1e-6)
    # k >= classes is the full distribution
    assert torch.allclose(losses.teacher_targets(t, 4.0, "topk", topk=10), p, atol=1e-6)


def test_argmax_signal_is_one_hot_and_ignores_temperature(logits):
    _, t = logits
    for temp in (1.0, 8.0):
        q = losses.teacher_targets(t, temp, "argmax")
        assert torch.equal(q, F.one_hot(t.argmax(1), 10).float())


def test_kd_loss_is_batchmean_kl_with_optional_t2(logits):
    s, t = logits
    T = 8.0
    q = F.softmax(t / T, 1)
    log_p = F.log_softmax(s / T, 1)
    manual = (q * (q.log() - log_p)).sum(1).mean()
    got = losses.distill_loss(s, t, loss="kd", signal="full", temperature=T)
    assert torch.allclose(got, manual, atol=1e-6)
    got_t2 = losses.distill_loss(s, t, loss="kd", signal="full", temperature=T, t2_factor=True)
    assert torch.allclose(got_t2, manual * T * T, atol=1e-5)
    # zero exactly when the student matches the teacher
    assert losses.distill_loss(t.clone(), t, loss="kd", temperature=T).abs() < 1e-6


def test_kd_with_argmax_target_is_cross_entropy_of_tempered_student(logits):
    s, t = logits
    got = losses.distill_loss(s, t, loss="kd", signal="argmax", temperature=2.0)
    assert torch.allclose(got, F.cross_entropy(s / 2.0, t.argmax(1)), atol=1e-6)


def test_l1_l2_are_means_over_batch_and_classes_of_scaled_logits(logits):
    s, t = logits
    T = 8.0
    l1 = losses.distill_loss(s, t, loss="l1", temperature=T)
    l2 = losses.distill_loss(s, t, loss="l2", temperature=T)
    assert math.isclose(float(l1), float((s / T - t / T).abs().mean()), rel_tol=1e-6)
    assert math.isclose(float(l2), float(((s / T - t / T) ** 2).mean()), rel_tol=1e-6)


def test_losses_are_float32_under_bf16_logits(logits):
    s, t = logits
    for kind in ("kd", "l1", "l2"):
        out = losses.distill_loss(s.bfloat16(), t.bfloat16(), loss=kind, temperature=8.0)
        assert out.dtype == torch.float32


def test_gradient_points_towards_teacher(logits):
    s, t = logits
    for kind in ("kd", "l1", "l2"):
        x = s.clone().requires_grad_(True)
        before = losses.distill_loss(x, t, loss=kind, temperature=2.0)
        before.backward()
        with torch.no_grad():
            after = losses.distill_loss(x - 0.5 * x.grad / x.grad.norm(), t, loss=kind, temperature=2.0)
        assert after < before


def test_invalid_combinations_are_rejected():
    with pytest.raises(ValueError, match="signal='full' only"):
        losses.check("l2", "topk", 8.0, 5)
    with pytest.raises(ValueError, match="distill.loss"):
        losses.check("ce", "full", 8.0, 5)
    with pytest.raises(ValueError, match="distill.signal"):
        losses.check("kd", "top5", 8.0, 5)
    with pytest.raises(ValueError, match="temperature"):
        losses.check("kd", "full", 0.0, 5)
    with pytest.raises(ValueError, match="topk"):
        losses.check("kd", "topk", 8.0, 0)


def test_mix_targets_follows_batch_reversal():
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    mixed = losses.mix_targets(t, [0.75])
    assert torch.allclose(mixed[0], 0.75 * t[0] + 0.25 * t[2])
    assert torch.allclose(mixed[1], t[1])
    twice = losses.mix_targets(t, [0.75, 0.5])
    assert torch.allclose(twice, 0.5 * mixed + 0.5 * mixed.flip(0))
    assert torch.allclose(twice.sum(1), torch.ones(3))
