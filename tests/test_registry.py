"""The registries: name -> object, filled where each thing is defined; unknown names list the known ones."""

import re
from pathlib import Path

import pytest

from augprior import manifest
from augprior.datasets import DATASETS, load_dataset
from augprior.experiments import EXPERIMENTS, FIGURES, TABLES
from augprior.models import ARCHITECTURES, build_model
from augprior.registry import Registry, UnknownName
from augprior.sources import SOURCE_KINDS, parse_source


def test_registry_exact_names_families_and_unknown_names():
    reg = Registry("widget")

    @reg.register("plain", colour="red")
    def plain():
        return "plain"

    reg.add("w{n}", lambda n: int(n), pattern=r"w(?P<n>\d+)")
    reg.add("w7", "exact beats the family")
    assert reg.get("plain") is plain and reg.meta("plain") == {"colour": "red"}
    assert reg.entry("w12").args == {"n": "12"} and reg.get("w12")("12") == 12
    assert reg.get("w7") == "exact beats the family"
    assert "w3" in reg and "plain" in reg and "nope" not in reg and 3 not in reg
    assert list(reg) == reg.names() == ["plain", "w{n}", "w7"] and len(reg) == 3
    with pytest.raises(UnknownName, match=r"unknown widget 'nope'; known: plain, w\{n\}, w7") as err:
        reg.get("nope")
    assert isinstance(err.value, KeyError) and err.value.known == ["plain", "w{n}", "w7"]
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("plain", None)


def test_architectures_keep_their_parametric_names():
    for name, source in [("wrn40_4", "cifar"), ("resnet20_w2", "cifar"), ("cifar_resnet50", "cifar"),
                         ("vgg19_bn", "cifar"), ("resnet50", "torchvision"), ("tv:alexnet", "torchvision"),
                         ("vit_base_patch16_224", "timm"), ("timm:resnet10t", "timm")]:
        assert ARCHITECTURES.meta(name)["source"] == source, name
    assert ARCHITECTURES.entry("resnet56_w4").args == {"depth": "56", "width": "4"}
    with pytest.raises(UnknownName, match=r"unknown architecture 'alexnet9'; known: wrn\{d\}_\{k\}.*tv:NAME"):
        build_model("alexnet9", 10)


def test_datasets_are_registered_by_their_loaders():
    assert DATASETS.names()[:4] == ["cifar10", "cifar100", "cifar10_jpeg", "fashion_mnist"]
    assert DATASETS.meta("cifar10_jpeg")["label"] == "CIFAR-10 (JPEG)"
    assert DATASETS.entry("imagefolder:/data/x").args == {"root": "/data/x"}
    # every dataset of the manifest has a loader
    assert all(name in DATASETS for name in manifest.dataset_names())
    with pytest.raises(UnknownName, match="unknown dataset 'cifar11'; known: cifar10, cifar100"):
        load_dataset("cifar11", "train")


def test_source_kinds_cover_the_mini_language(repo):
    from augprior import config

    params = config.load(repo / "params.yaml", {"scale": "ci"})
    kinds = {text: parse_source(params, text).kind for text in
             ["dataset:cifar10", "dataset:cifar10_jpeg:10000", "synthetic:fractal", "noise_uniform", "noise_normal",
              "mix0.5:city", "zeroskd", "city", "noise", "skimage:coffee", "/some/file.png"]}
    assert kinds == {"dataset:cifar10": "dataset", "dataset:cifar10_jpeg:10000": "dataset",
                     "synthetic:fractal": "synthetic", "noise_uniform": "noise", "noise_normal": "noise",
                     "mix0.5:city": "mix", "zeroskd": "zeroskd", "city": "image", "noise": "image",
                     "skimage:coffee": "image", "/some/file.png": "image"}
    assert SOURCE_KINDS.names()[-1] == "<image>"  # the catch-all is tried last
    # the module docstring documents every kind
    import augprior.sources as sources

    assert all(name in sources.__doc__ for name in SOURCE_KINDS.names())


def test_tables_and_figures_come_from_one_module_each():
    # discovered from the package (a new module is a new table), in the paper's order
    assert {"table1", "table2", "table3", "table4", "table9", "table11", "table12"} <= set(TABLES)
    assert {"fig2", "fig4"} <= set(FIGURES)
    number = lambda name: int(re.search(r"\d+", name)[0])  # noqa: E731
    # tables by number (a table's analogue, e.g. table15_cifar, right after it), then figures by number
    order = lambda name: (not name.startswith("table"), number(name), name)  # noqa: E731
    assert EXPERIMENTS.names() == sorted(EXPERIMENTS.names(), key=order)
    for name in EXPERIMENTS:
        exp = EXPERIMENTS.get(name)
        assert exp.cells.__module__ == f"augprior.experiments.{name}"
        assert exp.title and exp.kind in ("table", "figure") and (exp.plot is not None or exp.analysis is not None) == (exp.kind == "figure")
        module = Path(__import__(exp.cells.__module__, fromlist=["x"]).__file__)
        assert 10 <= len(module.read_text().splitlines()) <= 55, module  # its block, registration, cells
        for field_name, info in exp.params.model_fields.items():
            assert info.description, f"{name}.{field_name} has no description"
            assert not info.is_required(), f"{name}.{field_name} has no default"
        assert exp.params.model_config.get("extra") == "forbid"
    with pytest.raises(UnknownName, match="unknown table or figure 'table99'; known: table1, table2"):
        EXPERIMENTS.get("table99")


def test_params_yaml_blocks_validate_against_their_models(repo):
    import yaml

    raw = yaml.safe_load((repo / "params.yaml").read_text())
    for name in EXPERIMENTS:
        model = EXPERIMENTS.get(name).params
        model.model_validate(raw[name])
        for scale, block in raw["scales"].items():
            if name in (block or {}):
                model.model_validate({**raw[name], **block[name]})
    with pytest.raises(Exception, match="sourcez"):
        EXPERIMENTS.get("table1").params.model_validate({"sourcez": {}})


def test_readme_target_list_matches_the_registry(repo):
    readme = (repo / "README.md").read_text()
    block = readme[readme.index("| target | what it regenerates |"):]
    block = block[:block.index("\n\n")]
    names = re.findall(r"^\| (\w+) \|", block, re.M)[1:]  # skip the header row
    assert names == EXPERIMENTS.names(), "README.md's target table must list exactly the registered tables/figures"
