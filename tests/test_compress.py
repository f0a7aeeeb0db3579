"""Compression by self-distillation (augprior.compress) on tiny self-made data: pruning reaches and keeps the
requested sparsity, QAT converts to a real int8 model that agrees with its fake-quantised counterpart."""

import pytest
import torch
from test_distill import make_world

from augprior import compress as C
from augprior import jobs, options
from augprior.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path, n_patches=64)


def job(world, method, **cfg):
    return {**world, "distill": {"student": "resnet8", "epochs": 2, "batch_size": 16, "lr": 1e-3},
            "compress": {"method": method, "epochs": 2, "batch_size": 16, "prune_every": 2, **cfg}}


def test_schedule_is_polynomial_and_reaches_the_target():
    cfg = options.resolve(options.CompressOptions, {"sparsity": 0.8, "prune_begin": 0.1, "prune_end": 0.5}, "compress")
    values = [C.schedule(s, 100, cfg) for s in range(101)]
    assert values[10] == 0 and values[50] == pytest.approx(0.8) and values[100] == pytest.approx(0.8)
    assert all(a <= b for a, b in zip(values, values[1:]))
    assert values[30] == pytest.approx(0.8 * (1 - 0.5 ** 3))  # halfway: s_f (1 - (1 - 1/2)^3)


@pytest.mark.parametrize("sparsity", [0.5, 0.85])
def test_pruning_reaches_keeps_and_saves_the_sparsity(world, tmp_path, sparsity):
    from augprior.checkpoint import load_model

    m = C.compress(job(world, "prune", sparsity=sparsity), tmp_path / "out")
    assert m["sparsity"] == pytest.approx(sparsity, abs=0.01)
    assert all(abs(v - sparsity) < 0.02 for v in m["per_layer"].values())
    assert m["curve"][-1]["sparsity"] == pytest.approx(sparsity, abs=0.01)  # kept through the fine-tuning
    model, meta = load_model(tmp_path / "out" / "student.pt")  # a plain model file: masks made permanent
    assert not any("weight_orig" in k for k in model.state_dict())
    assert C.measure_sparsity(model)["sparsity"] == pytest.approx(m["sparsity"])
    assert meta["sparsity"] == pytest.approx(m["sparsity"])


def test_pruned_weights_stay_zero_while_training():
    torch.manual_seed(0)
    model = build_model("resnet8", 3)
    C.attach_masks(model)
    C.update_masks(model, 0.6)
    zero = {n: m.weight_mask.clone() == 0 for n, m in C.prunable(model)}
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 3, 32, 32)).sum().backward()
        opt.step()
    C.update_masks(model, 0.6)  # a later mask update keeps what was pruned
    for n, m in C.prunable(model):
        assert (m.weight[zero[n]] == 0).all() and (m.weight_mask[zero[n]] == 0).all()


def test_qat_converts_to_a_real_int8_model_close_to_its_fake_quantised_counterpart(world, tmp_path):
    m = C.compress(job(world, "qat", qat_freeze_after=0.5), tmp_path / "out")
    assert m["weight_tensors"]["qint8"] >= 8 and m["backend"] == "x86"
    assert m["file_bytes"] < m["fp32_state_bytes"] / 2.5
    assert m["top1"] is not None and m["fake_quant_top1"] is not None  # both evaluated (closeness: the test below)
    model, meta = C.load_compressed(tmp_path / "out" / "student.pt")
    convs = [mod for mod in model.modules() if type(mod).__name__ in ("Conv2d", "ConvReLU2d") and
             hasattr(mod, "weight") and callable(mod.weight)]
    assert convs and all(c.weight().dtype == torch.qint8 for c in convs)


def test_int8_matches_fake_quant_within_quantisation_error():
    torch.manual_seed(0)
    model = build_model("wrn10_1", 10)
    qat = C.prepare_qat(model, 32)
    with torch.no_grad():
        for _ in range(4):
            qat(torch.randn(32, 3, 32, 32))
    qat.eval()
    C.freeze_qat(qat)
    x = torch.randn(64, 3, 32, 32)
    int8 = C.convert_int8(qat)
    with torch.no_grad(), C.quant_engine():
        fake, real = qat(x), int8(x)
    scale = float(fake.std())
    assert float((fake - real).abs().mean()) < 0.1 * scale  # a few output quantisation steps, not a different model
    assert int8.state_dict()  # and it round-trips through a skeleton
    skeleton = C.int8_skeleton("wrn10_1", 10, 3, 32)
    with C.quant_engine():
        skeleton.load_state_dict(int8.state_dict())
        assert torch.equal(skeleton(x), real)


def test_compress_job_ids_and_inputs():
    from augprior import config
    import yaml

    params = config.resolve(yaml.safe_load(open("params.yaml")), {})
    a = jobs.compress_job(params, "cifar10_jpeg", "animals", "prune", 0, "wrn16_4", 0.5)
    b = jobs.compress_job(params, "cifar10_jpeg", "animals", "prune", 0, "wrn16_4", 0.75)
    q = jobs.compress_job(params, "cifar10_jpeg", "dataset:cifar10_jpeg", "qat", 0, "wrn16_4")
    assert a.id != b.id and "prune50" in a.id and "qat" in q.id
    assert {j.kind for j in a.needs} == {"teacher", "patches"} and [j.kind for j in q.needs] == ["teacher"]
    assert a.spec["distill"]["student"] == "wrn16_4" and a.spec["teacher_path"].endswith("model.pt")
    with pytest.raises(options.OptionsError, match="prune_end"):
        C.resolve({"prune_begin": 0.5, "prune_end": 0.4})


@pytest.mark.parametrize("method", ["prune", "qat"])
def test_interrupted_compression_resumes_bit_identical(world, tmp_path, monkeypatch, method):
    from augprior import distill as D

    j = job(world, method, sparsity=0.5, qat_freeze_after=0.5)
    j["distill"]["deterministic"] = True
    ref = C.compress(j, tmp_path / "ref")
    real, count = D.TrainStep.__call__, {"n": 0}

    def call(self, *args, **kwargs):
        if count["n"] == 5:  # in epoch 2 (4 steps per epoch): resumes from the end of epoch 1
            raise KeyboardInterrupt("simulated kill")
        count["n"] += 1
        return real(self, *args, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(D.TrainStep, "__call__", call)
        with pytest.raises(KeyboardInterrupt):
            C.compress(j, tmp_path / "resumed")
    got = C.compress(j, tmp_path / "resumed")
    assert got["resumes"] == [{"epoch": 1, "step": 0}] and got["top1"] == ref["top1"]
    a = torch.load(tmp_path / "ref" / "student.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed" / "student.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _same(x, y) -> bool:
    """Equal tensors (quantized: same integers, scales and zero points), tuples of them, or equal values."""
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y))
    if isinstance(x, torch.Tensor):
        if x.is_quantized:
            return torch.equal(x.int_repr(), y.int_repr()) and torch.equal(x.dequantize(), y.dequantize())
        return torch.equal(x, y)
    return x == y
