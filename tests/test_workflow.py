"""The Snakemake DAG at paper scale (dry runs, local and SLURM profiles) and params validation."""

import re
import subprocess
import sys

import pytest

from augprior.experiments import EXPERIMENTS, FIGURES, TABLES

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _dry_run(repo, *args):
    out = subprocess.run([*SNAKEMAKE, "paper_tables/table3.csv", "-n", *args], cwd=repo,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def _job_counts(log):
    stats = log[log.index("Job stats:"):]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m[1] != "total"}


@pytest.mark.parametrize("profile", [[], ["--workflow-profile", "profiles/slurm"]], ids=["local", "slurm"])
def test_paper_scale_table3_dag(repo, profile):
    log = _dry_run(repo, *profile, "--config", "scale=paper")
    # CIFAR-10 and CIFAR-100 columns: a teacher each, 11 distillations each (the patch sets are shared)
    assert _job_counts(log) == {"make_patches": 5, "train_teacher": 2, "distill": 22, "table": 1}
    if profile:
        assert "gpu=1" in log and "slurm_partition=YOUR_GPU_PARTITION" in log


def test_invalid_params_fail_before_any_job(repo):
    out = subprocess.run([*SNAKEMAKE, "paper_tables/table3.csv", "-n", "--config", "scale=ci",
                          "distill={'epochz': 3}"], cwd=repo, capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    assert "epochz" in out.stdout + out.stderr


def test_full_paper_scale_dag(repo):
    """Every table and figure at paper scale: one job per distinct experiment, shared across tables."""
    out = subprocess.run([*SNAKEMAKE, "-n", "--config", "scale=paper"], cwd=repo, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = _job_counts(out.stdout + out.stderr)
    assert counts["table"] == len(TABLES) and counts["figure"] + counts.get("analysis", 0) == len(FIGURES)
    assert counts["zeroskd"] == 1
    assert counts["make_synthetic"] == 2
    # Table 4's supervised models + Table 12's seeds + Tables 1/2 teachers
    assert counts["train_teacher"] >= 15
    assert counts["distill"] > 60


def test_patch_grid_target(repo):
    log = subprocess.run([*SNAKEMAKE, "paper_tables/patches/city.png", "-n", "--config", "scale=paper"], cwd=repo,
                         capture_output=True, text=True, timeout=180)
    assert log.returncode == 0, log.stderr[-2000:]
    assert _job_counts(log.stdout + log.stderr) == {"make_patches": 1, "patch_grid": 1}


def test_ci_scale_dag_targets_every_registered_table(repo):
    out = subprocess.run([*SNAKEMAKE, "-n", "--cores", "2", "--config", "scale=ci"], cwd=repo, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    rule_all = log[log.index("rule all:"):]
    targets = rule_all[rule_all.index("input:") + 6:].splitlines()[0].strip().split(", ")
    assert targets == [EXPERIMENTS.get(name).target for name in EXPERIMENTS]


def test_dvc_yaml_is_generated_from_the_registry(repo):
    from augprior.experiments.__main__ import dvc_yaml

    assert (repo / "dvc.yaml").read_text() == dvc_yaml(), "dvc.yaml is stale: python -m augprior.experiments --write"


def test_rule_outputs_follow_the_one_results_layout(repo):
    from augprior import jobs

    rules = "\n".join(p.read_text() for p in (repo / "workflow/rules").glob("*.smk"))
    assert "results/" not in rules and "{R}" not in rules  # no hand-spelled results paths
    assert jobs.layout("paper", "distill", name="metrics.json") == "results/paper/distill/{job}/metrics.json"


def test_slurm_profile_sends_every_gpu_rule_to_the_gpu_partition(repo):
    """A rule whose paper-scale resources ask for a GPU (params.yaml `resources:`) is listed in the SLURM profile's
    GPU partition; one that asks for none is not."""
    import yaml

    resources = yaml.safe_load((repo / "params.yaml").read_text())["resources"]
    profile = yaml.safe_load((repo / "profiles/slurm/config.yaml").read_text())["set-resources"]
    rules = {}
    for smk in (repo / "workflow/rules").glob("*.smk"):
        for name, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text(), re.M | re.S):
            kind = re.search(r'rule_resources\("(\w+)"\)', body)
            if kind:
                rules[name] = resources[kind[1]]["gpu"] > 0
    assert rules, "no rule with rule_resources(...) found"
    on_gpu = {name for name, res in profile.items() if res.get("slurm_partition") == "YOUR_GPU_PARTITION"}
    assert on_gpu == {name for name, gpu in rules.items() if gpu}
