"""Explicit overrides beat the scale block: what counts as explicit."""

import re
import subprocess
import sys

import pytest
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


# -- each route by the job ids it plans and the epochs it records --------------------------------------

# cells need their dataset: as if it could be downloaded (the ci block says it cannot; overrides win)
ONLINE = {"data.download": True}


def _table9(params):
    from augprior import experiments

    cells = [c for c in experiments.cells("table9", params) if c.jobs and c.jobs[0].kind == "distill"]
    return [j.id for c in cells for j in c.jobs], {c.epochs for c in cells}, {j.spec["distill"]["epochs"]
                                                                           for c in cells for j in c.jobs}


def test_an_explicit_override_beats_the_scale_block(repo):
    from augprior import config

    ci_ids, ci_epochs, _ = _table9(config.load(repo / "params.yaml", {"scale": "ci", **ONLINE}))
    ids, epochs, spec_epochs = _table9(config.load(repo / "params.yaml", {"scale": "ci", "distill.epochs": 5, **ONLINE}))
    assert ci_epochs == {6} and epochs == {5} and spec_epochs == {5}
    assert set(ids).isdisjoint(ci_ids)  # a new job hash, not the ci job reused
    # an override equal to the committed base value still counts when the scale block changes it
    base_ids, epochs, _ = _table9(config.load(repo / "params.yaml", {"scale": "ci", "distill.epochs": 1000, **ONLINE}))
    assert epochs == {1000}


def _dry_run_distill_ids(cwd, *args):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", *args,
                          "--", "paper_tables/table9.csv"], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return set(re.findall(r"wildcards: job=(\S+/seed\d+)", out.stdout + out.stderr))


@pytest.mark.slow
def test_snakemake_configfile_and_config_routes(repo, tmp_path):
    from augprior import config

    extra = tmp_path / "extra.yaml"
    extra.write_text("distill:\n  epochs: 5\ndata:\n  download: true\n")
    online = tmp_path / "online.yaml"
    online.write_text("data:\n  download: true\n")
    want, _, _ = _table9(config.load(repo / "params.yaml", {"scale": "ci", "distill.epochs": 5, **ONLINE}))
    got = _dry_run_distill_ids(repo, "--configfile", "params.yaml", str(extra), "--config", "scale=ci")
    assert got == set(want)
    # a top-level key that the ci block sets (num_threads: 1) is beaten by --config too
    params = config.load(repo / "params.yaml", {"scale": "ci", "num_threads": 2, **ONLINE})
    assert params["num_threads"] == 2
    want, _, _ = _table9(params)
    assert _dry_run_distill_ids(repo, "--configfile", "params.yaml", str(online), "--config", "scale=ci",
                                "num_threads=2") == set(want)


@pytest.mark.slow
def test_dvc_exp_run_set_param_route(repo, tmp_path):
    """`dvc exp run -S distill.epochs=5` writes the value into params.yaml and then runs the stage's
    snakemake: the edit differs from the committed file, so it beats the scale block."""
    from ruamel.yaml import YAML

    from augprior import config

    work = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    (work / "Snakefile").write_text((repo / "Snakefile").read_text())  # the working tree's, not only HEAD's
    yaml_rt = YAML()
    doc = yaml_rt.load(repo / "params.yaml")
    # a committed base that differs from what -S sets (a value equal to the committed one cannot be told
    # from no -S at all: the README says to set scales.<scale>.<key> for that)
    doc["data"]["download"] = False
    yaml_rt.dump(doc, work / "params.yaml")
    run = lambda *a: subprocess.run(["git", *a], cwd=work, check=True, capture_output=True)  # noqa: E731
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "as in the working tree", "--allow-empty")
    doc = yaml_rt.load(work / "params.yaml")
    doc["scale"], doc["distill"]["epochs"] = "ci", 5  # what -S scale=ci -S distill.epochs=5 does
    doc["data"]["download"] = True
    yaml_rt.dump(doc, work / "params.yaml")
    want, _, _ = _table9(config.load(repo / "params.yaml", {"scale": "ci", "distill.epochs": 5, **ONLINE}))
    assert _dry_run_distill_ids(work) == set(want)


def test_params_yaml_survives_dvcs_round_trip(repo):
    """DVC rewrites params.yaml with ruamel.yaml for -S: the result must still be valid YAML."""
    import io

    from ruamel.yaml import YAML

    yaml_rt = YAML()
    doc = yaml_rt.load((repo / "params.yaml").read_text())
    doc["scale"] = "ci"
    buf = io.StringIO()
    yaml_rt.dump(doc, buf)
    assert yaml.safe_load(buf.getvalue()) == {**yaml.safe_load((repo / "params.yaml").read_text()), "scale": "ci"}
