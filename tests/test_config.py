import pytest
import yaml

from augprior import config


def test_params_yaml_resolves_at_every_scale(repo):
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    for scale in raw["scales"]:
        p = config.load(repo / "params.yaml", {"scale": scale})
        assert p["scale"] == scale
        assert "scales" not in p


def test_paper_values_are_the_base(repo):
    p = config.load(repo / "params.yaml", {"scale": "paper"})
    assert p["teacher"]["arch"] == "wrn40_4"
    assert p["distill"]["student"] == "wrn16_4"
    assert (p["patches"]["num"], p["patches"]["size"]) == (50000, 32)
    d = p["distill"]
    assert (d["lr"], d["batch_size"], d["epochs"], d["temperature"]) == (0.001, 512, 1000, 8.0)
    a = d["augment"]
    assert (a["hflip"], a["random_crop"], a["crop_padding"], a["mixup"], a["cutmix"], a["cutmix_beta"]) == \
        (True, True, 4, False, True, 0.25)


def test_params_yaml_matches_the_engine_defaults(repo):
    """params.yaml spells out every distillation option; its paper values are the engine's defaults."""
    from augprior.distill import DISTILL_DEFAULTS

    d = config.load(repo / "params.yaml", {"scale": "paper"})["distill"]
    assert set(d) == set(DISTILL_DEFAULTS)
    for key, default in DISTILL_DEFAULTS.items():
        assert d[key] == default, key


def test_ci_scale_overrides_are_merged_not_replaced(repo):
    p = config.load(repo / "params.yaml", {"scale": "ci"})
    assert p["distill"]["student"] == "wrn16_1"
    assert p["distill"]["temperature"] == 8.0  # untouched key survives the merge


@pytest.mark.parametrize("override, message", [
    ({"distill.epochz": 3}, "distill.epochz: unknown key; known: student, epochs,"),
    ({"distill.epochs": "many"}, "distill.epochs = 'many': expected an integer >= 1"),
    ({"distill.signal": "soft"}, "distill.signal = 'soft': expected one of 'full', 'topk', 'argmax'"),
    ({"bogus": 1}, "bogus: unknown key; known: scale, scales,"),
    ({"scales.ci.distill.lr": -1}, "scales.ci.distill.lr = -1: expected a number > 0"),
    ({"scales.ci.distill.foo": 1}, "scales.ci.distill.foo: unknown key"),
    ({"teacher.batch_size": True}, "teacher.batch_size = True: expected an integer >= 1"),
    ({"scales.laptop": [1]}, "scales.laptop = [1]: expected a mapping of partial settings or null"),
    ({"scales.ci.scale": "paper"}, "scales.ci.scale: not allowed in a scale block"),
])
def test_invalid_params_name_the_key(repo, override, message):
    with pytest.raises(config.ParamsError) as err:
        config.load(repo / "params.yaml", override)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_scale_is_an_error(repo):
    with pytest.raises(config.ParamsError, match="scale 'huge' is not declared"):
        config.load(repo / "params.yaml", {"scale": "huge"})


def test_schema_file_is_the_package_copy(repo):
    assert (repo / "workflow/schemas/params.schema.json").resolve() == \
        (repo / "src/augprior/resources/params.schema.json").resolve()


def test_zeroskd_params_are_accepted_by_the_engine(repo):
    from augprior.synthetic.zeroskd import resolve_config

    z = config.load(repo / "params.yaml", {"scale": "paper"})["zeroskd"]
    assert resolve_config({**z, "student": "wrn40_1"})["iterations"] == 80000
