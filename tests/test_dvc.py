"""DVC tracking (issue 17): the generated dvc.yaml (metrics, plots, persisted outs), the metrics and curves
files of a table, and sharing finished models through a DVC remote (augprior.publish) so that a fresh clone
that pulls them retrains nothing, and a failing `dvc exp run` keeps the table it was asked to rebuild."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_workflow import _job_counts

from augprior import config, experiments, fileio, jobs, publish, tracked
from augprior.experiments import FIGURES, TABLES
from augprior.experiments.__main__ import _kinds, dvc_yaml

BIN = Path(sys.executable).parent


def _cells(repo, name="table3", **extra):
    params = config.load(repo / "params.yaml", {"scale": "ci", "data.download": True, **extra})
    return experiments.cells(name, params)


def _fake_run(path, top1, teacher_top1=80.0, epochs=3):
    curve = [{"epoch": e, "step": 10 * e, "train_loss": 1.0 / e} for e in range(1, epochs + 1)]
    curve[-1]["test_top1"] = top1
    fileio.write_json(path, {"top1": top1, "teacher_top1": teacher_top1, "curve": curve})


def test_dvc_yaml_declares_metrics_plots_and_persisted_outs():
    doc = yaml.safe_load(dvc_yaml())
    table = doc["stages"]["table"]["do"]
    assert {kind: stage["foreach"] for kind, stage in doc["stages"].items()} == _kinds()
    assert sorted(n for names in _kinds().values() for n in names) == sorted(TABLES + FIGURES)
    assert table["metrics"] == [{"paper_tables/metrics/${item}.json": {"cache": False, "persist": True}}]
    for stage in doc["stages"].values():
        outs = stage["do"]["outs"] + stage["do"].get("metrics", [])
        assert all(flags == {"cache": False, "persist": True} for out in outs for flags in out.values())
        assert stage["do"]["cmd"].startswith("python -m augprior.publish restore && snakemake ")
    plots = {next(iter(p)) if isinstance(p, dict) else p: p for p in doc["plots"]}
    assert plots["table3/test_top1"]["table3/test_top1"]["y"] == {"paper_tables/curves/table3.json": "test_top1"}
    assert all(f"paper_tables/{f}.png" in plots for f in FIGURES)


def test_metrics_and_curves_of_a_table(repo, tmp_path):
    cells = _cells(repo, **{"table3.seeds": 2})
    computed = cells[:2]
    for k, cell in enumerate(computed):
        for seed, job in enumerate(cell.jobs):
            _fake_run(tmp_path / jobs.job_path(job), 50.0 + k + 2 * seed)
    tracked.write("table3", cells, tmp_path / "m.json", tmp_path / "c.json", root=tmp_path)
    summary = fileio.read_json(tmp_path / "m.json")
    key0 = tracked.cell_key(cells[0].part, cells[0].setting)
    assert summary["scale"] == "ci" and key0 == f"{cells[0].part}/{cells[0].setting}"
    assert summary["cells"] == {key0: 51.0, tracked.cell_key(cells[1].part, cells[1].setting): 52.0}
    assert list(summary["teacher"].values()) == [80.0]
    assert next(iter(summary["teacher"])).startswith("cifar10_jpeg/")
    curve = fileio.read_json(tmp_path / "c.json")
    assert len(curve) == 2 * 2 * 3 and {r["run"] for r in curve} == {f"{key0}/seed0", f"{key0}/seed1",
                                                                   f"{cells[1].part}/{cells[1].setting}/seed0",
                                                                   f"{cells[1].part}/{cells[1].setting}/seed1"}
    # every record has the key (dvc plots show needs it), null where the run did not evaluate
    assert all("test_top1" in r for r in curve) and sum(r["test_top1"] is not None for r in curve) == 4
    # every table's cells get distinct keys (dvc exp show columns), dataset-qualified only where needed
    for name in TABLES + FIGURES:
        keys = tracked.cell_keys(_cells(repo, name))
        assert len(set(keys)) == len(keys) and not any("#" in k for k in keys), name
    assert "distillation data/CIFAR-10 train/cifar100" in tracked.cell_keys(_cells(repo, "table1"))


def _run(cmd, cwd, timeout=240):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", "TQDM_DISABLE": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@localhost"}
    out = subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), capture_output=True, text=True, env=env,
                         timeout=timeout, check=False)
    return out.returncode, out.stdout + out.stderr


def _ok(cmd, cwd, timeout=240):
    rc, log = _run(cmd, cwd, timeout)
    assert rc == 0, f"{cmd}:\n{log[-4000:]}"
    return log


def _dry_run(cwd):
    over = cwd.parent / "download.yaml"  # cells that need data are planned without the mirror
    over.write_text("scale: ci\ndata:\n  download: true\n")
    return _job_counts(_ok(["snakemake", "-n", "--cores", "1", "paper_tables/table3.csv", "--configfile", str(over)],
                           cwd))


@pytest.mark.slow
def test_published_models_pull_into_a_fresh_clone_that_retrains_nothing(repo, tmp_path):
    """Fake finished jobs (no training) -> publish -> dvc push -> fresh clone -> dvc pull -> restore ->
    Snakemake's dry run plans only the table; restore never replaces or adds to a job folder Snakemake has;
    then a `dvc exp run` that fails validation keeps the table (persist: true, issue 10 item 2)."""
    a, remote = tmp_path / "a", tmp_path / "remote"
    a.mkdir()
    for path in ("Snakefile", "params.yaml", "dvc.yaml", ".dvcignore", ".gitignore", "pyproject.toml"):
        shutil.copy2(repo / path, a / path)
    for path in ("workflow", "src", "profiles", ".dvc"):
        shutil.copytree(repo / path, a / path, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                            "cache", "tmp", "config.local"))
    _ok("git init -q && git add -A && git commit -qm base", a)
    cells = _cells(repo)
    closure = jobs.closure(job for cell in cells for job in cell.jobs)
    assert closure["distill"] and closure["teacher"] and closure["patches"]
    for kind in ("patches", "synthetic", "teacher", "distill", "zeroskd"):  # sources first (older)
        for job in closure[kind].values():
            folder = a / jobs.job_dir(job)
            for name in publish.FILES[kind]:
                if name == "metrics.json":
                    _fake_run(folder / name, 42.0)
                else:
                    fileio.write_bytes(folder / name, f"{kind} {job.id} {name}".encode())
    assert _dry_run(a) == {"table": 1}, "the fake results are not complete"
    _ok([sys.executable, "-m", "augprior.publish", "export", "--scale", "ci"], a)
    assert (a / "models/ci.dvc").is_file()
    _ok(f"dvc remote add -d local {remote} && git add models/ci.dvc models/.gitignore .dvc/config "
        "&& git commit -qm models && dvc push", a)

    b = tmp_path / "b"
    _ok(f"git clone -q {a} {b}", tmp_path)
    assert not (b / "results").exists()
    _ok("dvc pull models/ci.dvc", b)
    _ok([sys.executable, "-m", "augprior.publish", "restore"], b)
    n = sum(len(v) for v in closure.values())
    assert sum(1 for _ in publish.finished_jobs(b / "results/ci")) == n
    assert _dry_run(b) == {"table": 1}
    # restore never replaces what Snakemake owns
    teacher = b / jobs.job_path(next(iter(closure["teacher"].values())))
    teacher.write_text("{}")
    assert publish.restore(b) == 0 and teacher.read_text() == "{}"
    partial = b / jobs.job_dir(next(iter(closure["distill"].values())))  # a run Snakemake started (resumable)
    shutil.rmtree(partial)
    fileio.write_bytes(partial / "state.pt", b"state")
    assert publish.restore(b) == 0 and [p.name for p in partial.iterdir()] == ["state.pt"]

    # persist: a dvc exp run whose params fail validation keeps the table it was asked to rebuild
    fileio.write_text(a / "paper_tables/table3.csv", "kept\n")
    rc, log = _run("dvc exp run -S scale=ci -S distill.epochs=-1 table@table3", a)
    assert rc != 0 and "distill.epochs = -1: expected" in log, log[-3000:]
    assert (a / "paper_tables/table3.csv").read_text() == "kept\n"
