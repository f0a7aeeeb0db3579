"""Model zoo: parameter counts against published values, forward shapes, factory names,
no downloads at construction, checkpoint loading."""

from __future__ import annotations

import pickle
import socket

import pytest
import torch
import torch.nn as nn

from augprior.models import (CheckpointError, build_model, default_input_size, load_checkpoint_into,
                             model_source, param_count, read_state_dict)
from augprior.models import _adapt_first_conv, _replace_head

# Published sizes (10 classes): WRN (Zagoruyko & Komodakis 2016, Table/Fig. values), CIFAR ResNets
# (He et al. 2016, Table 6), CIFAR VGG-BN (chenyaofo/pytorch-cifar-models).
PUBLISHED_M = {
    "wrn40_4": 8.9, "wrn16_4": 2.7, "wrn40_2": 2.2, "wrn40_1": 0.56, "wrn16_8": 11.0,
    "resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85, "resnet110": 1.7,
    "vgg11_bn": 9.76, "vgg16_bn": 15.25, "vgg19_bn": 20.57,
}


@pytest.mark.parametrize("name,millions", sorted(PUBLISHED_M.items()))
def test_cifar_param_counts_match_published(name, millions):
    n = param_count(build_model(name, 10))
    assert abs(n / 1e6 - millions) / millions < 0.03, (name, n)


def test_exact_param_counts():
    # exact values pin the architectures (option-A shortcuts, pre-activation WRN blocks)
    assert param_count(build_model("resnet20", 10)) == 269_722
    assert param_count(build_model("resnet56", 10)) == 853_018
    assert param_count(build_model("wrn40_4", 10)) == 8_949_210
    assert param_count(build_model("wrn16_4", 10)) == 2_748_890


def test_resnet_width_variants_scale_channels():
    narrow, wide = build_model("resnet20", 10), build_model("resnet20_w2", 10)
    assert narrow.fc.in_features == 64 and wide.fc.in_features == 128
    assert wide.conv.out_channels == 32
    # conv weights grow ~4x with 2x width
    assert 3.5 < param_count(wide) / param_count(narrow) < 4.1
    assert build_model("resnet56_w4", 10).fc.in_features == 256
    assert param_count(build_model("cifar_resnet56", 10)) == param_count(build_model("resnet56", 10))
    assert model_source("cifar_resnet50") == "cifar" and model_source("resnet50") == "torchvision"


@pytest.mark.parametrize("name", ["wrn16_2", "resnet20", "resnet20_w2", "vgg11_bn"])
def test_cifar_forward_shapes(name):
    torch.manual_seed(0)
    with torch.no_grad():
        for classes in (10, 100):
            model = build_model(name, classes).eval()
            assert model(torch.randn(2, 3, 32, 32)).shape == (2, classes)
        gray = build_model(name, 10, in_chans=1).eval()
        assert gray(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert default_input_size(name) == 32


def test_cifar_models_train_step_changes_weights():
    model = build_model("resnet20", 10)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()
    assert all(p.grad is not None for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("name", ["resnet21", "wrn17_2", "vgg12_bn", "resnet20_w0", "alexnet9", "tv:no_such_net",
                                  "timm:no_such_net"])
def test_unknown_names_raise(name):
    with pytest.raises(ValueError):
        build_model(name, 10)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_classes"):
        build_model("resnet20", 0)
    with pytest.raises(ValueError, match="checkpoint=PATH"):
        build_model("wrn16_1", 10, pretrained=True)


# ------------------------------------------------------------------ 224-px models

PUBLISHED_224 = {  # 1000 classes
    "resnet18": 11_689_512, "resnet50": 25_557_032, "resnet101": 44_549_160,
    "wide_resnet50_2": 68_883_240, "vit_base_patch16_224": 86_567_656, "cait_s24_224": 46_916_200,
}


@pytest.mark.parametrize("name,count", sorted(PUBLISHED_224.items()))
def test_224_param_counts_on_meta_device(name, count):
    with torch.device("meta"):  # no memory, no init cost
        assert param_count(build_model(name, 1000)) == count
        model = build_model(name, 100)
    heads = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == 100]
    assert heads, "head not adapted to 100 classes"
    assert default_input_size(name) == 224


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access during model construction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)


def test_224_models_forward_small_input_without_network(no_network):
    torch.manual_seed(0)
    with torch.no_grad():
        r18 = build_model("resnet18", 10).eval()
        assert r18(torch.randn(2, 3, 64, 64)).shape == (2, 10)
        vit = build_model("timm:vit_tiny_patch16_224", 7, img_size=64).eval()
        assert vit(torch.randn(2, 3, 64, 64)).shape == (2, 7)
        gray = build_model("tv:mobilenet_v3_small", 5, in_chans=1).eval()
        assert gray(torch.randn(2, 1, 64, 64)).shape == (2, 5)
        gray_timm = build_model("timm:resnet10t", 5, in_chans=1).eval()
        assert gray_timm(torch.randn(2, 1, 64, 64)).shape == (2, 5)


def test_replace_head_and_adapt_first_conv_keep_pretrained_function():
    torch.manual_seed(0)
    model = build_model("tv:resnet18", 1000).eval()
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        old = model.conv1(x.expand(-1, 3, -1, -1))
        _adapt_first_conv(model, "resnet18", 1)
        # a grey image through the summed kernel == the same grey image in RGB through the old kernel
        torch.testing.assert_close(model.conv1(x), old, rtol=1e-4, atol=1e-5)
        _replace_head(model, "resnet18", 10)
        assert model.fc.out_features == 10 and model(x).shape == (1, 10)


# ------------------------------------------------------------------ checkpoints

def _same_outputs(a: nn.Module, b: nn.Module, shape=(2, 3, 32, 32)) -> bool:
    x = torch.randn(*shape)
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


@pytest.mark.parametrize("layout", ["raw", "nested_model", "lead_save_model", "dataparallel", "lightning",
                                    "safetensors"])
def test_checkpoint_layouts_load(tmp_path, layout):
    torch.manual_seed(1)
    src = build_model("wrn16_1", 10)
    with torch.no_grad():  # make BN statistics non-trivial so eval outputs depend on buffers too
        for m in src.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    sd = src.state_dict()
    path = tmp_path / ("w.safetensors" if layout == "safetensors" else "w.pt")
    if layout == "raw":
        torch.save(sd, path)
    elif layout == "nested_model":
        torch.save({"model": sd, "epoch": 3, "optimizer": {"state": {}}}, path)
    elif layout == "lead_save_model":
        torch.save({"arch": "wrn16_1", "num_classes": 10, "in_chans": 3, "state_dict": sd}, path)
    elif layout == "dataparallel":
        torch.save({f"module.{k}": v for k, v in sd.items()}, path)
    elif layout == "lightning":
        torch.save({"state_dict": {f"model.{k}": v for k, v in sd.items()}, "epoch": 1}, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    torch.manual_seed(2)
    dst = build_model("wrn16_1", 10, checkpoint=path)
    assert _same_outputs(src, dst)
    fresh = build_model("wrn16_1", 10)
    assert not _same_outputs(src, fresh)
    assert load_checkpoint_into(fresh, path) is fresh and _same_outputs(src, fresh)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_errors_name_the_problem(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(build_model("wrn16_1", 10).state_dict(), path)
    with pytest.raises(CheckpointError, match="shape mismatches.*fc.weight"):
        build_model("wrn16_1", 100, checkpoint=path)
    partial = {k: v for k, v in build_model("wrn16_1", 10).state_dict().items() if not k.startswith("fc.")}
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match=r"2 missing keys \['fc.weight', 'fc.bias'\]"):
        build_model("wrn16_1", 10, checkpoint=tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="no such file"):
        read_state_dict(tmp_path / "absent.pt")
    pickled = tmp_path / "module.pt"
    with open(pickled, "wb") as f:
        pickle.dump({"model": build_model("wrn16_1", 10)}, f)
    with pytest.raises(CheckpointError, match="weights-only"):
        read_state_dict(pickled)
    torch.save({"epoch": 3, "note": "no tensors"}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="found no state dict"):
        read_state_dict(tmp_path / "empty.pt")


def test_non_strict_load_tolerates_extra_keys(tmp_path):
    src = build_model("wrn16_1", 10)
    sd = dict(src.state_dict())
    sd["extra_projection.weight"] = torch.zeros(3, 3)
    path = tmp_path / "extra.pt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="unexpected keys"):
        build_model("wrn16_1", 10, checkpoint=path)
    dst = load_checkpoint_into(build_model("wrn16_1", 10), path, strict=False)
    assert _same_outputs(src, dst)
