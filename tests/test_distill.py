"""Distillation engine on tiny, self-made data (no mirror needed): a 3-class image folder as the
test set, a random ResNet-8 teacher file, a random uint8 patch set."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augprior import distill as D
from augprior import training_inputs as I
from augprior.checkpoint import load_model, save_model
from augprior.models import build_model


def make_patches(path: Path, num: int, size: int):
    from augprior.patches import PatchSpec, make_patch_set

    image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    make_patch_set(image, path, PatchSpec(size=size), num=num, seed=0, engine="reference", progress=False)


def make_world(root: Path, n_patches: int = 64, classes: int = 3) -> dict:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in range(classes):
            d = root / "folder" / split / f"c{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(4):
                Image.fromarray((rng.random((32, 32, 3)) * 80 + 60 * c).astype(np.uint8)).save(d / f"{i}.png")
    torch.manual_seed(0)
    teacher = build_model("resnet8", classes)
    save_model(root / "teacher.pt", teacher, arch="resnet8", num_classes=classes, in_chans=3,
               dataset=f"imagefolder:{root / 'folder'}", mean=[0.5] * 3, std=[0.25] * 3,
               classes=[f"c{c}" for c in range(classes)])
    make_patches(root / "patches.npy", n_patches, 32)
    return {"teacher_path": str(root / "teacher.pt"), "patches_path": str(root / "patches.npy"), "seed": 0,
            "device": "cpu", "precision": "fp32", "scale": "test", "num_threads": 1,
            "distill": {"student": "resnet8", "epochs": 2, "batch_size": 16}}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def with_cfg(job: dict, **cfg) -> dict:
    return {**job, "distill": {**job["distill"], **cfg}}


def test_end_to_end_outputs_metrics_and_curve(world, tmp_path):
    out = tmp_path / "out"
    job = with_cfg(world, eval_every=1, augment={"mixup": True})
    m = D.distill(job, out)
    assert (out / "student.pt").exists() and (out / "metrics.json").exists()
    assert not (out / "state.pt").exists()
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["top1"] == m["top1"] and saved["last"]["top1"] == m["top1"]
    assert [p["epoch"] for p in m["curve"]] == [1, 2]
    assert all("test_top1" in p and "agreement" in p for p in m["curve"])
    assert m["best"]["top1"] == max(p["test_top1"] for p in m["curve"])
    assert m["steps_per_epoch"] == 4 and m["steps"] == 8 and m["n"] == 12
    assert len(m["per_class_top1"]) == 3 and 0 <= m["agreement"] <= 100
    assert m["function_matching"] and m["deviations"] == []
    assert m["config"]["augment"]["mixup"] and m["config"]["temperature"] == 8.0
    prov = m["provenance"]
    assert {"git", "params_hash", "seed", "scale", "versions", "wall_time_s"} <= set(prov)
    assert prov["scale"] == "test" and prov["params"]["distill"]["loss"] == "kd"
    # the saved student reproduces the reported accuracy and agreement
    student, meta = load_model(out / "student.pt")
    assert meta["arch"] == "resnet8" and meta["mean"] == [0.5] * 3
    from augprior.datasets import load_dataset
    from augprior.evaluate import predict_logits

    test = load_dataset(f"imagefolder:{tmp_path / 'folder'}", "test", size=32)
    logits = predict_logits(student, test.images, meta["mean"], meta["std"], torch.device("cpu"), False)
    assert float((logits.argmax(1) == test.labels).float().mean() * 100) == pytest.approx(m["top1"])


def test_eval_at_start_scores_the_untrained_student(world, tmp_path):
    """Curve point epoch 0 is the student the run starts from (the seed's random init), scored like the others."""
    from augprior.datasets import load_dataset
    from augprior.evaluate import agreement, predict_logits

    m = D.distill(with_cfg(world, epochs=1, eval_at_start=True), tmp_path / "out")
    start = m["curve"][0]
    assert (start["epoch"], start["step"]) == (0, 0) and [p["epoch"] for p in m["curve"]] == [0, 1]
    torch.manual_seed(world["seed"])
    untrained = build_model("resnet8", 3)
    teacher, _ = load_model(world["teacher_path"])
    test = load_dataset(f"imagefolder:{tmp_path / 'folder'}", "test", size=32)
    logits = [predict_logits(net, test.images, [0.5] * 3, [0.25] * 3, torch.device("cpu"), False)
              for net in (untrained, teacher)]
    assert start["agreement"] == pytest.approx(agreement(*logits))
    assert start["test_top1"] == pytest.approx(float((logits[0].argmax(1) == test.labels).float().mean() * 100))


def test_train_step_is_function_matching():
    """Teacher (eval, no grad) and student see the identical augmented batch; one teacher forward per step."""
    torch.manual_seed(0)
    teacher, student = build_model("resnet8", 4).eval(), build_model("resnet8", 4).train()
    seen = {"teacher": [], "student": []}

    def hook(name):
        def fn(module, args):
            seen[name].append((args[0].detach().clone(), module.training, torch.is_grad_enabled()))
        return fn

    teacher.register_forward_pre_hook(hook("teacher"))
    student.register_forward_pre_hook(hook("student"))
    cfg = D.resolve_config({"student": "resnet8", "epochs": 1, "batch_size": 8, "augment": {"mixup": True}})
    opt = D.make_optimizer(student, cfg)
    step = D.TrainStep(teacher, student, opt, D.make_scheduler(opt, cfg, 3), cfg, device=torch.device("cpu"),
                       bf16=False, mean=(0.5,) * 3, std=(0.25,) * 3)
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    before = [p.detach().clone() for p in student.parameters()]
    for s in range(3):
        loss = step(x, I.generator(0, I.TAG_AUGMENT, 0, s))
        assert loss.ndim == 0 and torch.isfinite(loss)
    assert len(seen["teacher"]) == 3 and len(seen["student"]) == 3
    for (xt, t_training, t_grad), (xs, s_training, s_grad) in zip(seen["teacher"], seen["student"]):
        assert torch.equal(xt, xs)
        assert not t_training and not t_grad and s_training and s_grad
    assert not torch.equal(seen["student"][0][0], seen["student"][1][0])  # fresh augmentation per step
    assert any(not torch.equal(a, p) for a, p in zip(before, student.parameters()))
    assert all(p.grad is None for p in teacher.parameters())


def test_cached_teacher_logits_are_a_labelled_deviation(world, tmp_path):
    m = D.distill(with_cfg(world, cache_teacher_logits=True, epochs=1), tmp_path / "cached")
    assert not m["function_matching"]
    assert any("cache_teacher_logits" in d for d in m["deviations"])
    # the cached targets are mixed like the inputs and the teacher is not run per step
    torch.manual_seed(0)
    teacher, student = build_model("resnet8", 3).eval(), build_model("resnet8", 3)
    calls = []
    teacher.register_forward_pre_hook(lambda mod, args: calls.append(1))
    cfg = D.resolve_config({"student": "resnet8", "batch_size": 4, "cache_teacher_logits": True})
    opt = D.make_optimizer(student, cfg)
    cache = torch.softmax(torch.randn(10, 3), 1)
    step = D.TrainStep(teacher, student, opt, D.make_scheduler(opt, cfg, 1), cfg, device=torch.device("cpu"),
                       bf16=False, mean=(0.5,) * 3, std=(0.25,) * 3, target_cache=cache)
    idx = torch.tensor([3, 1, 7, 0])
    x, lams = torch.rand(4, 3, 32, 32), [0.3]
    from augprior.losses import mix_targets

    assert torch.allclose(step.targets(x, lams, idx), mix_targets(cache[idx], lams))
    step(x, torch.Generator().manual_seed(0), idx)
    assert calls == []
    with pytest.raises(ValueError, match="fixed input set"):
        D.distill(with_cfg({**world, "input": {"kind": "noise_uniform"}}, cache_teacher_logits=True),
                  tmp_path / "bad")


def test_nan_loss_stops_with_clear_message_and_no_outputs(world, tmp_path):
    teacher, meta = load_model(world["teacher_path"])
    with torch.no_grad():
        teacher.fc.bias.fill_(float("nan"))
    bad = tmp_path / "nan_teacher.pt"
    save_model(bad, teacher, **meta)
    out = tmp_path / "nan"
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 1, step 1/4"):
        D.distill({**world, "teacher_path": str(bad)}, out)
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()
    assert not list(out.glob(".*tmp*"))


def _interrupt_after(monkeypatch, n_steps: int) -> None:
    real = D.TrainStep.__call__
    count = {"n": 0}

    def call(self, *args, **kwargs):
        if count["n"] == n_steps:
            raise KeyboardInterrupt("simulated kill")
        count["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(D.TrainStep, "__call__", call)


def _compare_runs(a: Path, b: Path, ma: dict, mb: dict) -> None:
    for key in ("top1", "top5", "per_class_top1", "agreement", "teacher_top1", "best", "last"):
        assert ma[key] == mb[key], key
    strip = lambda curve: [{k: v for k, v in p.items() if k not in ("epoch_time_s", "samples_per_s")} for p in curve]  # noqa: E731,E501
    assert strip(ma["curve"]) == strip(mb["curve"])
    sa = torch.load(a / "student.pt", weights_only=True)["state_dict"]
    sb = torch.load(b / "student.pt", weights_only=True)["state_dict"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("stop_after, every", [(6, 2), (4, 0)])
def test_interrupted_run_resumes_bit_identical(world, tmp_path, monkeypatch, stop_after, every):
    """Mid-epoch (checkpoint every 2 steps, stopped in step 3 of 4 of epoch 2) and at an epoch boundary."""
    job = with_cfg(world, epochs=2, checkpoint_every_steps=every, deterministic=True, eval_every=1,
                   lr_schedule="cosine", warmup_epochs=1, optimizer="adamw", weight_decay=0.01,
                   augment={"mixup": True}, eval_at_start=True)
    ref = D.distill(job, tmp_path / "ref")
    out = tmp_path / "resumed"
    with monkeypatch.context() as mp:
        _interrupt_after(mp, stop_after)
        with pytest.raises(KeyboardInterrupt):
            D.distill(job, out)
    state = torch.load(out / "state.pt", weights_only=False)
    assert (state["epoch"], state["step"]) == ((1, 2) if every else (1, 0))
    assert not (out / "metrics.json").exists() and not (out / "student.pt").exists()
    got = D.distill(job, out)
    assert got["resumes"] == [{"epoch": state["epoch"], "step": state["step"]}]
    _compare_runs(tmp_path / "ref", out, ref, got)
    assert [p["epoch"] for p in got["curve"]] == [0, 1, 2]  # the initialisation point once, not again on resume


def test_state_of_another_job_is_refused(world, tmp_path, monkeypatch):
    out = tmp_path / "o"
    with monkeypatch.context() as mp:
        _interrupt_after(mp, 4)
        with pytest.raises(KeyboardInterrupt):
            D.distill(world, out)
    with pytest.raises(RuntimeError, match="different distillation job"):
        D.distill(with_cfg(world, lr=0.01), out)
    # operational options may change on resume
    m = D.distill(with_cfg(world, eval_every=1, checkpoint_every_steps=3), out)
    assert m["resumes"] == [{"epoch": 1, "step": 0}]


def test_resolve_config_defaults_and_errors():
    cfg = D.resolve_config({"student": "wrn16_1"})
    assert cfg["lr"] == 1e-3 and cfg["batch_size"] == 512 and cfg["epochs"] == 1000
    assert cfg["temperature"] == 8.0 and not cfg["t2_factor"] and cfg["augment"]["cutmix_beta"] == 0.25
    assert not cfg["cache_teacher_logits"] and not cfg["compile"]
    for bad, match in [({"optimzer": "adam"}, "unknown key"), ({"optimizer": "rmsprop"}, "optimizer"),
                       ({"lr": 0}, "lr"), ({"lr_schedule": "step"}, "lr_schedule"), ({"epochs": 0}, "epochs"),
                       ({"loss": "l1", "signal": "argmax"}, "signal='full' only"), ({"compile": "yes"}, "compile")]:
        with pytest.raises(ValueError, match=match):
            D.resolve_config(bad)


def test_lr_schedules():
    f = D.lr_lambda("constant", 0, 100)
    assert f(0) == f(99) == 1.0
    f = D.lr_lambda("cosine", 10, 110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0) and f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == pytest.approx(0.0)
    f = D.lr_lambda("linear", 0, 100)
    assert f(0) == 1.0 and f(50) == pytest.approx(0.5) and f(100) == 0.0


@pytest.mark.parametrize("student, lrs, nesterov", [
    ("resnet8", [(0, 0.01), (399, 0.01), (400, 0.1), (31999, 0.1), (32000, 0.01), (48000, 0.001), (64000, 0.001)], False),
    ("wrn10_1", [(0, 0.1), (23999, 0.1), (24000, 0.02), (48000, 0.004), (64000, 0.0008), (80000, 0.0008)], True)])
def test_sgd_with_the_paper_step_schedule_is_the_teachers(student, lrs, nesterov):
    """optimizer sgd + lr_schedule paper (the source-data recipe, Appendix C.4.2): the teacher's SGD (no decay
    on BatchNorm parameters and biases) and its step schedule of the student's family, lr absolute."""
    cfg = D.resolve_config({"student": student, "optimizer": "sgd", "lr_schedule": "paper", "lr": 0.5,
                            "weight_decay": 5e-4, "epochs": 100, "steps_per_epoch": 2000})
    model = build_model(student, 3)
    opt = D.make_optimizer(model, cfg)
    assert isinstance(opt, torch.optim.SGD)
    assert [(g["weight_decay"], g["momentum"], g["nesterov"]) for g in opt.param_groups] == \
        [(5e-4, 0.9, nesterov), (0.0, 0.9, nesterov)]
    sched = D.make_scheduler(opt, cfg, 2000)
    done = 0
    for step, lr in lrs:  # the lr after `step` optimizer steps
        for _ in range(step - done):
            opt.step()
            sched.step()
        done = step
        assert sched.get_last_lr()[0] == pytest.approx(lr), (student, step)
    with pytest.raises(ValueError, match="optimizer='sgd' and warmup_epochs=0"):
        D.resolve_config({"optimizer": "adam", "lr_schedule": "paper"})


def test_a_tiny_sgd_paper_schedule_run_records_its_recipe(world, tmp_path):
    m = D.distill(with_cfg(world, optimizer="sgd", lr_schedule="paper", momentum=0.8, epochs=2, batch_size=16,
                           steps_per_epoch=3), tmp_path / "run")
    assert (m["config"]["optimizer"], m["config"]["lr_schedule"], m["config"]["momentum"]) == ("sgd", "paper", 0.8)
    assert m["steps"] == 6 and [p["lr"] for p in m["curve"]] == [pytest.approx(0.01)] * 2  # ResNet: 0.01 to step 400
    assert all(math.isfinite(p["train_loss"]) for p in m["curve"])


def test_dataset_subset_is_the_documented_seeded_class_spread_sample(world, tmp_path):
    from augprior.datasets import load_dataset, subset_indices

    folder = f"imagefolder:{tmp_path / 'folder'}"
    spec = I.input_spec({"input": {"kind": "dataset", "name": folder, "subset": 8, "size": 32}})
    inp = I.build_inputs(spec, batch_size=4, seed=0)
    assert len(inp) == 8 and inp.steps_per_epoch == 2
    # the folder is stored class by class (4 images each of c0, c1, c2): the first 8 would miss c2
    full = load_dataset(folder, "train", size=32)
    chosen = subset_indices(len(full), 8)
    assert not torch.equal(chosen, torch.arange(8))
    assert set(full.labels[chosen].tolist()) == {0, 1, 2}
    # every drawn batch holds exactly the images of that sample, each once per epoch
    for epoch in range(2):
        images, idx = zip(*(inp.batch(epoch, s) for s in range(2)))
        idx = torch.cat(idx)
        assert sorted(idx.tolist()) == list(range(8))
        assert torch.equal(torch.cat(images), full.load_batch(chosen[idx]))
    assert not torch.equal(inp.batch(0, 0)[1], inp.batch(1, 0)[1])  # reshuffled per epoch
    m = D.distill({**world, "input": {"kind": "dataset", "name": folder, "subset": 8, "size": 32},
                   "distill": {**world["distill"], "batch_size": 4, "epochs": 1}}, tmp_path / "ds")
    assert m["input"]["kind"] == "dataset" and m["input"]["num"] == 8 and m["steps"] == 2


def test_noise_inputs_are_fresh_deterministic_and_correctly_distributed():
    spec = I.input_spec({"input": {"kind": "noise_uniform", "num": 64}})
    u = I.build_inputs(spec, batch_size=32, seed=3, default_shape=(3, 16, 16))
    a, idx = u.batch(0, 0)
    assert idx is None and a.dtype == torch.float32 and a.shape == (32, 3, 16, 16)
    assert a.min() >= 0 and a.max() < 1 and abs(a.mean() - 0.5) < 0.02
    assert torch.equal(a, u.batch(0, 0)[0]) and not torch.equal(a, u.batch(0, 1)[0])
    assert torch.equal(u.batch(1, 0)[0], u.batch(0, 2)[0])  # a pure function of the global step
    n = I.build_inputs(I.input_spec({"input": {"kind": "noise_normal", "size": 8}}), batch_size=64, seed=3,
                       default_shape=(3, 16, 16))
    b = n.batch(0, 0)[0]
    assert b.shape == (64, 3, 8, 8) and abs(b.mean()) < 0.05 and abs(b.std() - 1) < 0.05
    assert n.steps_per_epoch == I.DEFAULT_VIRTUAL_EPOCH // 64


def test_noise_mix_is_convex_combination_in_pixel_units(tmp_path):
    make_patches(tmp_path / "p.npy", 16, 8)
    from augprior.patches import load_patch_set

    patches = load_patch_set(tmp_path / "p.npy")
    spec = I.input_spec({"patches_path": str(tmp_path / "p.npy"), "input": {"kind": "noise_mix", "alpha": 0.8}})
    mix = I.build_inputs(spec, batch_size=4, seed=1)
    x, _ = mix.batch(0, 1)
    base, idx = mix.base.batch(0, 1)
    noise = mix.noise.sample(4, 1)
    assert torch.allclose(x, 0.8 * noise + 0.2 * base.float() / 255)
    assert torch.equal(base, patches[idx])
    with pytest.raises(I.InputError, match="alpha"):
        I.input_spec({"patches_path": "p.npy", "input": {"kind": "noise_mix"}})


def test_sampler_objects_get_the_global_step(world, tmp_path):
    class Sampler:
        def __init__(self):
            self.calls = []

        def sample(self, n, step):
            self.calls.append((n, step))
            g = torch.Generator().manual_seed(step)
            return torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)

    s = Sampler()
    m = D.distill({**world, "input": {"kind": "patches", "sampler": s, "num": 32}}, tmp_path / "s")
    assert [c for c in s.calls if c[0] == 16] == [(16, k) for k in range(4)]  # 2 epochs x 2 steps
    assert m["input"]["sampler"] == "Sampler" and m["provenance"]["params"]["input"]["sampler"] == "Sampler"

    class Bad:
        def sample(self, n, step):
            return torch.zeros(n, 32, 32, 3, dtype=torch.uint8)

    with pytest.raises(I.InputError, match="expected"):
        I.build_inputs({"kind": "patches", "sampler": Bad()}, batch_size=4, seed=0)


def test_input_spec_errors():
    with pytest.raises(I.InputError, match="input.kind"):
        I.input_spec({"input": {"kind": "gan"}})
    with pytest.raises(I.InputError, match="patches_path"):
        I.input_spec({})
    with pytest.raises(I.InputError, match="one of path"):
        I.input_spec({"input": {"kind": "patches", "path": "a", "on_the_fly": {}}})
    from augprior.patches import PatchError

    with pytest.raises(PatchError, match="no such patch file"):
        I.build_inputs(I.input_spec({"patches_path": "/nonexistent/p.npy"}), batch_size=4, seed=0)


def test_grayscale_teacher_gets_luma_of_rgb_patches():
    x = torch.rand(2, 3, 4, 4)
    g = D.prepare_pixels((x * 255).to(torch.uint8), torch.device("cpu"), False, 1)
    assert g.shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="channels"):
        D.prepare_pixels(torch.zeros(1, 2, 4, 4), torch.device("cpu"), False, 3)


def test_cli_builds_job_from_params_and_runs(world, tmp_path, repo, monkeypatch, capsys):
    from augprior import cli

    args = cli.build_parser().parse_args([
        "distill", "--teacher", world["teacher_path"], "--patches", world["patches_path"],
        "--out", str(tmp_path / "cli"), "--params", str(repo / "params.yaml"),
        "--scale", "ci", "--signal", "top5", "--no-cutmix", "--mixup", "--lr", "0.002"])
    job = cli.distill_job_from_args(args)
    assert job["scale"] == "ci" and job["distill"]["signal"] == "topk" and job["distill"]["topk"] == 5
    assert job["distill"]["lr"] == 0.002 and job["distill"]["augment"]["mixup"]
    assert not job["distill"]["augment"]["cutmix"] and job["input"] == {"kind": "patches"}
    monkeypatch.chdir(tmp_path)  # no params.yaml here: built-in paper defaults
    rc = cli.main(["distill", "--teacher", world["teacher_path"], "--patches", world["patches_path"],
                   "--out", str(tmp_path / "cli"), "--student", "resnet8", "--epochs", "1",
                   "--batch-size", "16", "--precision", "fp32", "--imagenet-augment", "--rrc-size", "32",
                   "--threads", "1"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    m = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    assert summary["top1"] == m["top1"] and m["config"]["augment"]["solarize_p"] == 0.2
    assert cli.main(["distill", "--teacher", world["teacher_path"], "--out", str(tmp_path / "x"),
                     "--input", "noise_mix", "--patches", world["patches_path"]]) == 2
    assert "alpha" in capsys.readouterr().err


def test_on_the_fly_patches_from_a_job_dict(world, tmp_path):
    src = tmp_path / "src.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(src)
    spec = {"kind": "patches", "num": 32,
            "on_the_fly": {"image": str(src), "spec": {"size": 32}, "engine": "reference"}}
    inp = I.build_inputs(I.input_spec({"input": spec}), batch_size=16, seed=0)
    a, idx = inp.batch(0, 1)
    assert idx is None and a.dtype == torch.uint8 and a.shape == (16, 3, 32, 32)
    assert torch.equal(a, inp.batch(0, 1)[0]) and not torch.equal(a, inp.batch(0, 0)[0])
    assert not torch.equal(inp.batch(1, 1)[0], a)  # global step 3, not 1: fresh patches every epoch
    m = D.distill({**world, "input": spec, "distill": {**world["distill"], "epochs": 1}}, tmp_path / "otf")
    assert m["input"]["sampler"]["mode"] == "on_the_fly" and m["steps"] == 2


def test_fold_batchnorm_is_exact_and_faster_path_is_used(world, tmp_path):
    torch.manual_seed(0)
    for arch, expect in (("resnet8", 7), ("wrn10_1", 3)):  # post-activation: every BN; pre-activation: conv1->bn2
        model = build_model(arch, 5).eval()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_()
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.normal_()
        folded, n = D.fold_batchnorm(model)
        assert n == expect, (arch, n)
        x = torch.randn(4, 3, 32, 32)
        with torch.no_grad():
            assert torch.allclose(folded(x), model(x), rtol=1e-4, atol=1e-4)
        assert all(not p.requires_grad for p in folded.parameters())

    class Untraceable(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3)

        def forward(self, x):
            return self.bn(self.conv(x)) if x.sum() > 0 else x  # data-dependent: fx cannot trace

    m = Untraceable()
    assert D.fold_batchnorm(m) == (m, 0)
    got = D.distill(with_cfg(world, epochs=1), tmp_path / "f")
    off = D.distill(with_cfg(world, epochs=1, fold_teacher_bn=False), tmp_path / "nf")
    assert got["teacher_bn_folded"] == 7 and off["teacher_bn_folded"] == 0
    assert got["teacher_top1"] == off["teacher_top1"]  # reported with the teacher as loaded


def test_steps_per_epoch_gives_small_sources_the_same_step_budget():
    """distill.steps_per_epoch: a 10-image set with batch 4 (2 steps per pass) runs 5-step epochs
    through reshuffled passes: every image once per pass, passes continuing across epochs; the
    default (one pass per epoch) is unchanged."""
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 3, 2, 2).contiguous()
    plain = I.IndexedInputs(images, 10, 4, seed=0, kind="t", info={})
    assert plain.with_steps_per_epoch(None).steps_per_epoch == 2
    fixed = I.IndexedInputs(images, 10, 4, seed=0, kind="t", info={}).with_steps_per_epoch(5)
    assert fixed.steps_per_epoch == 5
    drawn = [fixed.batch(e, s)[1] for e in range(2) for s in range(5)]  # 10 steps = 5 passes of 2 steps
    for p in range(5):
        one_pass = torch.cat(drawn[2 * p:2 * p + 2])
        assert len(set(one_pass.tolist())) == 8  # 8 distinct images per pass (2 left over, as without the option)
        assert torch.equal(one_pass, plain.order(p)[:8])
    assert torch.equal(plain.batch(1, 1)[1], fixed.batch(0, 3)[1])  # global step 3 = pass 1, step 1
