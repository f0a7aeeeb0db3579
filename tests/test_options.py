"""augprior.options: the one declaration of every option (defaults, bounds, messages, schema, flags)."""

import json

import jsonschema
import pytest
import yaml

from augprior import config, options
from augprior.options import (AugmentOptions, DistillOptions, OptionsError, PatchOptions, SyntheticOptions,
                              TeacherOptions, ZeroSKDOptions, ZeroSKDParams)


def _raw(repo):
    return yaml.safe_load((repo / "params.yaml").read_text())


def test_committed_schema_is_generated_from_the_models(repo):
    committed = (repo / "src/augprior/resources/params.schema.json").read_text()
    assert committed == options.schema_text(), "stale: run python -m augprior.options --write-schema"
    assert (repo / "workflow/schemas/params.schema.json").read_text() == committed


def test_schema_describes_every_key_with_its_default():
    schema = options.json_schema()

    def check(node, path):
        node = options._deref(node, schema)
        for key, sub in node.get("properties", {}).items():
            assert sub.get("description") or options._deref(sub, schema).get("description"), f"{path}{key}"
            if not path.startswith("ScaleBlock"):
                assert "default" in sub, f"{path}{key} has no default"
            check(sub, f"{path}{key}.")

    check(schema, "")
    d = options._deref(schema["properties"]["distill"], schema)["properties"]
    assert d["warmup_epochs"] == {"type": "number", "minimum": 0, "default": 0,
                                  "description": d["warmup_epochs"]["description"]}
    assert d["batch_size"]["minimum"] == 2 and d["lr"]["exclusiveMinimum"] == 0


def test_schema_validates_params_yaml(repo):
    schema, raw = options.json_schema(), _raw(repo)
    jsonschema.Draft202012Validator(schema).validate(raw)
    raw["scales"]["ci"]["distill"]["foo"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(raw)


@pytest.mark.parametrize("block, model", [("teacher", TeacherOptions), ("patches", PatchOptions),
                                          ("synthetic", SyntheticOptions), ("zeroskd", ZeroSKDParams),
                                          ("distill", DistillOptions)])
def test_declared_defaults_are_params_yaml_paper_values(repo, block, model):
    assert options.defaults(model) == _raw(repo)[block]


def test_defaults_of_every_top_level_key_are_params_yaml(repo):
    raw, p = _raw(repo), options.defaults(options.Params)
    for key in ("seed", "device", "precision", "num_threads", "data", "full_data_subset", "distill_full_data",
                "resources"):
        assert p[key] == raw[key], key


def test_engine_defaults_come_from_the_declarations():
    from augprior import augment, distill, teacher
    from augprior.synthetic import zeroskd

    assert distill.DISTILL_DEFAULTS == options.defaults(DistillOptions)
    assert augment.AUGMENT_DEFAULTS == options.defaults(AugmentOptions)
    assert zeroskd.ZEROSKD_DEFAULTS == options.defaults(ZeroSKDOptions)
    assert teacher.TEACHER_DEFAULTS == options.defaults(TeacherOptions)
    assert distill.OPTIMIZERS == ("adam", "adamw", "sgd") and zeroskd.KL_REDUCTIONS == ("elementwise", "batchmean")


def test_old_disagreements_now_agree(repo):
    from augprior import distill, teacher
    from augprior.synthetic import zeroskd

    # warmup_epochs is a number >= 0 (fractional epochs), an int stays an int
    assert distill.resolve_config({"warmup_epochs": 0.5})["warmup_epochs"] == 0.5
    assert distill.resolve_config({"warmup_epochs": 0})["warmup_epochs"] == 0
    assert isinstance(distill.resolve_config({"warmup_epochs": 0})["warmup_epochs"], int)
    config.load(repo / "params.yaml", {"distill.warmup_epochs": 0.5})
    # batch_size >= 2 everywhere for distillation and ZeroSKD
    for load in (lambda: config.load(repo / "params.yaml", {"distill.batch_size": 1}),
                 lambda: distill.resolve_config({"batch_size": 1}),
                 lambda: zeroskd.resolve_config({"batch_size": 1})):
        with pytest.raises(OptionsError, match="batch_size = 1: expected an integer >= 2"):
            load()
    # n_g = 0 (a fixed generator) accepted by params and engine
    assert config.load(repo / "params.yaml", {"zeroskd.n_g": 0})["zeroskd"]["n_g"] == 0
    assert zeroskd.resolve_config({"n_g": 0})["n_g"] == 0
    # the teacher's optional keys and epochs 0 are accepted by params.yaml
    p = config.load(repo / "params.yaml", {"teacher.pretrained": True, "teacher.checkpoint": "w.pt",
                                           "teacher.image_size": 64, "teacher.epochs": 0})
    assert p["teacher"]["pretrained"] and p["teacher"]["checkpoint"] == "w.pt" and p["teacher"]["epochs"] == 0
    # ... and stay out of the resolved dict while off (job ids do not change)
    assert "pretrained" not in config.load(repo / "params.yaml")["teacher"]
    assert "checkpoint" not in teacher.resolve_config({})


@pytest.mark.parametrize("cfg, message", [
    ({"batch_size": 0}, "distill.batch_size = 0: expected an integer >= 2"),
    ({"epochs": -1}, "distill.epochs = -1: expected an integer >= 1"),
    ({"epochs": 2.0}, "distill.epochs = 2.0: expected an integer >= 1"),
    ({"lr": -0.1}, "distill.lr = -0.1: expected a number > 0"),
    ({"lr": True}, "distill.lr = True: expected a number > 0"),
    ({"compile": 1}, "distill.compile = 1: expected true or false"),
    ({"eval_subset": 0}, "distill.eval_subset = 0: expected null or an integer >= 1"),
    ({"optimizer": "rmsprop"}, "distill.optimizer = 'rmsprop': expected one of 'adam', 'adamw', 'sgd'"),
    ({"student": "nosuchnet"}, "distill.student = 'nosuchnet': unknown architecture 'nosuchnet'"),
    ({"augment": {"grayscale_p": 1.5}}, "distill.augment.grayscale_p = 1.5: expected a number in [0, 1]"),
    ({"augment": {"rrc_scale": [0.9, 0.1]}}, "distill.augment.rrc_scale = [0.9, 0.1]: expected [low, high]"),
    ({"augment": {"cutmx": True}}, "distill.augment.cutmx: unknown key; known: hflip,"),
    ({"loss": "l1", "signal": "argmax"}, "distill.loss='l1' regresses the teacher's logits"),
])
def test_error_messages_name_key_value_and_expectation(cfg, message):
    from augprior.distill import resolve_config

    with pytest.raises(ValueError) as err:
        resolve_config(cfg)
    assert isinstance(err.value, OptionsError)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_several_errors_are_one_line_each_key_once():
    with pytest.raises(OptionsError) as err:
        options.resolve(DistillOptions, {"lr": "x", "epochs": 0}, "distill")
    msg = str(err.value)
    assert msg.count("distill.lr") == 1 and "distill.epochs = 0" in msg and "\n" not in msg


def test_scale_blocks_are_validated_after_the_merge(repo):
    raw = _raw(repo)
    raw["scales"]["ci"]["distill"]["foo"] = 1
    with pytest.raises(config.ParamsError, match=r"^scales\.ci\.distill\.foo: unknown key"):
        config.resolve(raw)
    raw = _raw(repo)
    raw["scales"]["laptop"]["distill"]["loss"] = "l2"
    raw["scales"]["laptop"]["distill"]["signal"] = "topk"
    with pytest.raises(config.ParamsError, match=r"^scales\.laptop\.distill\.loss='l2'"):
        config.resolve(raw)  # a scale that is not picked is checked too


def test_full_data_recipe_is_checked_merged_over_each_scales_distill_block(repo):
    raw = _raw(repo)
    raw["distill_full_data"] = {"optimizer": "sgd", "lr_schedule": "paper"}  # no warmup_epochs: 0, laptop warms up
    del raw["scales"]["laptop"]["distill_full_data"]
    with pytest.raises(config.ParamsError, match=r"^scales\.laptop\.distill_full_data: distill\.lr_schedule='paper' "
                                                 r".*warmup_epochs=0 \(got 'sgd', 0\.2\)$"):
        config.resolve(raw)
    raw = _raw(repo)
    raw["distill_full_data"]["optimizer"] = "rmsprop"
    with pytest.raises(config.ParamsError, match=r"^distill_full_data\.optimizer = 'rmsprop': expected one of 'adam', "
                                                 r"'adamw', 'sgd'$"):
        config.resolve(raw)


def test_resolved_params_do_not_change_job_hashes(repo):
    """The resolved engine blocks equal what params.yaml spells out (no added keys, ints stay ints)."""
    raw = _raw(repo)
    for scale in raw["scales"]:
        p = config.load(repo / "params.yaml", {"scale": scale})
        merged = config.deep_merge({k: v for k, v in raw.items() if k not in ("scale", "scales")},
                                   raw["scales"][scale] or {})
        for key in ("seed", "device", "precision", "num_threads", "data", "full_data_subset", "teacher",
                    "patches", "synthetic", "zeroskd", "distill", "resources"):
            assert json.dumps(p[key], sort_keys=True) == json.dumps(merged[key], sort_keys=True), (scale, key)


def test_signal_names():
    from augprior.jobs import signal_overrides

    assert signal_overrides("top5") == {"signal": "topk", "topk": 5}
    assert signal_overrides("argmax") == {"signal": "argmax"}
    with pytest.raises(ValueError, match="unknown teacher signal"):
        signal_overrides("soft")
