"""The Snakemake DAG at paper scale (dry runs, local and SLURM profiles) and params validation."""

import re
import subprocess
import sys

import pytest

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
    assert _job_counts(log) == {"make_patches": 5, "train_teacher": 1, "distill": 11, "table": 1}
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
    assert counts["table"] == 7 and counts["figure"] == 2 and counts["zeroskd"] == 1
    assert counts["make_synthetic"] == 2
    # Table 4's supervised models + Table 12's seeds + Tables 1/2 teachers
    assert counts["train_teacher"] >= 15
    assert counts["distill"] > 60


def test_patch_grid_target(repo):
    log = subprocess.run([*SNAKEMAKE, "paper_tables/patches/city.png", "-n", "--config", "scale=paper"], cwd=repo,
                         capture_output=True, text=True, timeout=180)
    assert log.returncode == 0, log.stderr[-2000:]
    assert _job_counts(log.stdout + log.stderr) == {"make_patches": 1, "patch_grid": 1}
