"""Explicit overrides beat the scale block: what counts as explicit."""

import subprocess

import yaml

from augprior import overrides

BASE = {"scale": "paper", "seed": 0, "distill": {"epochs": 1000, "augment": {"cutmix": True}},
        "fig2": {"images": ["a", "b"]}, "scales": {"ci": {"distill": {"epochs": 6}}}}


def test_explicit_is_the_nested_difference_from_the_reference():
    config = {**BASE, "scale": "ci", "seed": 3, "distill": {"epochs": 5, "augment": {"cutmix": True}},
              "fig2": {"images": ["a"]}, "scales": {"ci": {"distill": {"epochs": 7}}}}
    assert overrides.explicit(config, BASE) == {"seed": 3, "distill": {"epochs": 5}, "fig2": {"images": ["a"]}}
    assert overrides.explicit(BASE, BASE) == {}
    assert overrides.explicit({**BASE, "new": {"x": 1}}, BASE) == {"new": {"x": 1}}


def test_the_reference_is_the_committed_file_in_a_git_checkout(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert overrides.committed_params(path) is None  # not a git checkout: the file on disk is the reference
    assert overrides.reference_params(path) == BASE
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", "params.yaml")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p")
    edited = {**BASE, "distill": {**BASE["distill"], "epochs": 5}}  # what `dvc exp run -S distill.epochs=5` does
    path.write_text(yaml.safe_dump(edited))
    assert overrides.reference_params(path) == BASE
    assert overrides.explicit(yaml.safe_load(path.read_text()), overrides.reference_params(path)) == {
        "distill": {"epochs": 5}}
