"""Fault injection, results and inputs (issue 10, items 2 and 3).

- A finished result is replaced only by a complete one: a rerun into a finished folder that is refused
  (missing teacher, bad option, mismatched dataset) or fails or is killed before its end leaves
  student.pt and metrics.json byte-identical; a crash inside finalize never leaves a metrics.json
  beside a student it does not describe; tables are replaced atomically and a params.yaml that fails
  validation leaves paper_tables/ untouched.
- Users' files are part of job identities: a source image replaced at the same path gives a new
  patches job id (and Snakemake sees the file as an input); an imagefolder: dataset's files give the
  teacher's id; manifest and library images keep their ids.
- A teacher evaluated on a dataset other than the one its model file records is refused with one
  line naming both, unless allow_dataset_mismatch is set; then it is recorded in metrics.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augprior import cli, config, jobs
from augprior import distill as D
from augprior import tables
from test_distill import make_world

pytestmark = pytest.mark.usefixtures("one_thread")
RESULT_FILES = ("student.pt", "metrics.json")
AUGPRIOR = [sys.executable, "-m", "augprior.cli"]


def digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in RESULT_FILES}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny world (3-class image folder, random resnet8 teacher, patches) and one finished run."""
    root = tmp_path_factory.mktemp("world")
    world = make_world(root)
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        D.distill(world, root / "done")
    finally:
        torch.set_num_threads(prev)
    return world, root


@pytest.fixture
def rerun(finished, tmp_path):
    """A copy of the finished folder to rerun into, and its files' hashes."""
    world, root = finished
    out = tmp_path / "out"
    shutil.copytree(root / "done", out)
    return world, root, out, digest(out)


def cli_args(world, out, *extra):
    return ["distill", "--teacher", world["teacher_path"], "--patches", world["patches_path"], "--out", str(out),
            "--student", "resnet8", "--epochs", "2", "--batch-size", "16", "--device", "cpu", "--precision",
            "fp32", "--threads", "1", *extra]


# ----------------------------------------------------------------------------- item 2: finished results

@pytest.mark.parametrize("case", ["missing_teacher", "bad_option", "unknown_student", "foreign_dataset"])
def test_refused_cli_rerun_leaves_the_finished_result_byte_identical(rerun, monkeypatch, capsys, case):
    world, root, out, before = rerun
    monkeypatch.chdir(out.parent)  # no params.yaml here: the declared defaults
    args = cli_args(world, out)
    if case == "missing_teacher":
        args[args.index("--teacher") + 1] = str(root / "no-such-teacher.pt")
    elif case == "bad_option":
        args += ["--lr", "-1"]
    elif case == "unknown_student":
        args[args.index("--student") + 1] = "resnet9000x"
    else:
        other = root / "other"
        if not other.exists():
            shutil.copytree(root / "folder", other)
        args += ["--dataset", f"imagefolder:{other}"]
    try:
        code = cli.main(args)
    except SystemExit as exit_:  # argparse: a bad flag value
        code = exit_.code
    assert code in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("augprior distill: "), err
    assert digest(out) == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(RESULT_FILES)


def _fail_at(monkeypatch, n_steps: int, exc: BaseException) -> None:
    real = D.TrainStep.__call__
    count = {"n": 0}

    def call(self, *args, **kwargs):
        if count["n"] == n_steps:
            raise exc
        count["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(D.TrainStep, "__call__", call)


@pytest.mark.parametrize("n_steps, exc", [(1, KeyboardInterrupt("killed in epoch 1")),
                                           (5, KeyboardInterrupt("killed in epoch 2")),
                                           (6, FloatingPointError("distillation loss is nan"))],
                         ids=["killed-epoch1", "killed-epoch2", "nan-loss"])
def test_failed_or_killed_rerun_keeps_the_finished_result(rerun, monkeypatch, n_steps, exc):
    """4 steps per epoch: the run dies before finalize; the old result stays, then a rerun replaces it."""
    world, root, out, before = rerun
    job = {**world, "seed": 1}  # another job into the same folder
    _fail_at(monkeypatch, n_steps, exc)
    with pytest.raises(type(exc)):
        D.distill(job, out)
    assert digest(out) == before
    assert (out / "state.pt").exists() == (n_steps >= 4)  # epoch 1's checkpoint, which a rerun resumes
    monkeypatch.undo()
    m = D.distill(job, out)
    assert digest(out) != before and not (out / "state.pt").exists()
    assert json.loads((out / "metrics.json").read_text())["top1"] == m["top1"]
    assert json.loads((out / "metrics.json").read_text())["resumes"] == m["resumes"]


def test_crash_inside_finalize_never_shows_a_foreign_metrics_json(rerun, monkeypatch):
    """finalize removes the old completion marker first: a crash while writing student.pt leaves no
    metrics.json (not finished) and state.pt, from which a rerun finishes."""
    world, root, out, before = rerun
    job = {**world, "seed": 2}
    real = D.save_model

    def crash(path, *a, **k):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(D, "save_model", crash)
    with pytest.raises(OSError):
        D.distill(job, out)
    assert not (out / "metrics.json").exists() and (out / "state.pt").exists()
    assert hashlib.sha256((out / "student.pt").read_bytes()).hexdigest() == before["student.pt"]
    monkeypatch.setattr(D, "save_model", real)
    m = D.distill(job, out)
    assert m["resumes"] and digest(out) != before and not (out / "state.pt").exists()


def _table(value: float):
    import pandas as pd

    return pd.DataFrame({"table": ["table3"], "scale": ["ci"], "setting": ["animals"], "reproduced": [value],
                         "std": [0.0], "n": [1], "run_dirs": ["results/ci/distill/x"]})


def test_tables_are_replaced_atomically(tmp_path, monkeypatch):
    csv = tmp_path / "paper_tables" / "table3.csv"
    tables.write_table(_table(1.0), csv, "T", "ci")
    old = {p.name: p.read_bytes() for p in csv.parent.iterdir()}

    def fail(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        tables.write_table(_table(2.0), csv, "T", "ci")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in csv.parent.iterdir()} == old  # no temp file, old table intact


def _workflow_copy(repo: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "params.yaml"):
        shutil.copy(repo / name, dest / name)
    shutil.copytree(repo / "workflow", dest / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    if (repo / "profiles").exists():
        shutil.copytree(repo / "profiles", dest / "profiles")
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["distill={'epochs': -3}", "patches={'size': 'big'}"])
def test_failed_validation_leaves_paper_tables_untouched(repo, tmp_path, bad):
    work = _workflow_copy(repo, tmp_path)
    tables_dir = work / "paper_tables"
    tables_dir.mkdir()
    (tables_dir / "table3.csv").write_text("a finished table\n")
    (tables_dir / "table3.md").write_text("# a finished table\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tables_dir.iterdir()}
    out = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "paper_tables/table3.csv",
                          "--config", "scale=ci", bad], cwd=work, capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    assert bad.split("=")[0] in out.stdout + out.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tables_dir.iterdir()} == before
    assert not (work / "results").exists()


@pytest.mark.slow
def test_cli_run_killed_mid_training_keeps_the_finished_result(rerun, monkeypatch):
    """kill -9 after the new run's first checkpoint: the old result is intact; the rerun resumes."""
    world, root, out, before = rerun
    args = cli_args(world, out, "--seed", "3")
    args[args.index("--epochs") + 1] = "20"
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    proc = subprocess.Popen([*AUGPRIOR, *args], cwd=out.parent, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "state.pt").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert digest(out) == before  # the old finished result, untouched by the killed run
    done = subprocess.run([*AUGPRIOR, *args], cwd=out.parent, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming distillation" in done.stdout + done.stderr
    assert digest(out) != before and not (out / "state.pt").exists()
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 20


# ----------------------------------------------------------------------------- item 3a: users' files in job ids

@pytest.fixture(scope="module")
def params(repo=Path(__file__).resolve().parents[1]):
    return config.load(repo / "params.yaml", {"scale": "ci"})


def write_image(path: Path, value: int, side: int = 48) -> None:
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)


def test_replaced_user_image_gives_a_new_patches_job_and_a_snakemake_input(params, tmp_path):
    img = tmp_path / "mine.png"
    write_image(img, 1)
    a = jobs.patches_job(params, str(img))
    assert a.spec["image_md5"] == hashlib.md5(img.read_bytes()).hexdigest()
    assert jobs.inputs(a) == {"image": str(img)}  # Snakemake's input: a changed file reruns the job
    write_image(img, 2)  # replaced at the same path
    b = jobs.patches_job(params, str(img))
    assert b.id != a.id and b.spec["image_md5"] != a.spec["image_md5"]
    write_image(img, 1)  # the same content again: the same job (content, not time, is the identity)
    assert jobs.patches_job(params, str(img)).id == a.id
    # and every distillation from it follows (mix sources too)
    d1 = jobs.distill_job(params, "cifar10_jpeg", str(img), 0)
    write_image(img, 3)
    assert jobs.distill_job(params, "cifar10_jpeg", str(img), 0).id != d1.id
    assert jobs.distill_job(params, "cifar10_jpeg", f"mix0.5:{img}", 0).id != jobs.distill_job(
        params, "cifar10_jpeg", f"mix0.5:{tmp_path / 'other.png'}", 0).id


def test_two_different_images_at_one_path_same_size_and_mtime(params, tmp_path):
    img = tmp_path / "same.ppm"  # PPM: the file size depends on the side only
    write_image(img, 1)
    st = img.stat()
    a = jobs.patches_job(params, str(img))
    write_image(img, 2)
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert img.stat().st_size == st.st_size
    assert jobs.patches_job(params, str(img)).id != a.id


def test_missing_user_image_is_an_input_snakemake_reports(params, tmp_path):
    job = jobs.patches_job(params, str(tmp_path / "not-yet.png"))
    assert job.spec["image_md5"] is None and jobs.inputs(job) == {"image": str(tmp_path / "not-yet.png")}


@pytest.mark.parametrize("image", ["animals", "paper:city", "skimage:coffee", "noise",
                                   "https://example.org/x.png"])
def test_manifest_library_and_url_images_keep_their_ids(params, image):
    job = jobs.patches_job(params, image)
    assert "image_md5" not in job.spec and jobs.inputs(job) == {}


def test_imagefolder_content_is_part_of_the_teacher_and_distill_ids(params, tmp_path):
    root = tmp_path / "folder"
    for split in ("train", "test"):
        (root / split / "a").mkdir(parents=True)
        write_image(root / split / "a" / "0.png", 0)
    name = f"imagefolder:{root}"
    t1, d1 = jobs.teacher_job(params, name), jobs.distill_job(params, name, "animals", 0)
    assert jobs.teacher_job(params, name).id == t1.id  # stable while nothing changes
    write_image(root / "train" / "a" / "1.png", 1)  # an image added
    t2 = jobs.teacher_job(params, name)
    assert t2.id != t1.id and jobs.distill_job(params, name, "animals", 0).id != d1.id
    time.sleep(0.01)
    write_image(root / "train" / "a" / "1.png", 2)  # an image replaced
    assert jobs.teacher_job(params, name).id != t2.id
    assert jobs.teacher_job(params, "cifar10_jpeg").id == jobs.teacher_job(params, "cifar10_jpeg").id


@pytest.mark.slow
def test_snakemake_sees_the_user_image_as_input(repo, tmp_path, mirror):
    img = tmp_path / "mine.png"
    write_image(img, 1, side=64)
    work = _workflow_copy(repo, tmp_path / "wf")  # its own .snakemake: no lock shared with other runs
    env = {**os.environ, "AUGPRIOR_MIRROR": str(mirror)}
    cmd = [sys.executable, "-m", "snakemake", "-n", "paper_tables/fig2.csv", "--config", "scale=ci",
           f"fig2={{'images': ['{img}']}}"]
    out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    log = out.stdout + out.stderr
    if "fig2" not in log or out.returncode != 0 and "MissingRuleException" in log:
        pytest.skip("fig2 target not available here: " + log[-300:])
    assert out.returncode == 0, log[-3000:]
    assert f"input: {img}" in log, log[-3000:]
    img.unlink()
    out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and str(img) in out.stdout + out.stderr


# ----------------------------------------------------------------------------- item 3b: teacher dataset

@pytest.fixture
def world(finished, tmp_path):
    world, root = finished
    other = root / "other"
    if not other.exists():
        shutil.copytree(root / "folder", other)
    return world, root, other


def test_teacher_dataset_mismatch_is_refused_in_one_line(world, tmp_path):
    job, root, other = world
    for dataset in (f"imagefolder:{other}", f"imagefolder:{root / 'other'}/"):
        with pytest.raises(ValueError) as info:
            D.distill({**job, "dataset": dataset}, tmp_path / "out")
        msg = str(info.value)
        assert "\n" not in msg and f"imagefolder:{root / 'folder'}" in msg and str(other) in msg
        assert "allow_dataset_mismatch" in msg
    assert not (tmp_path / "out" / "metrics.json").exists()
    # the same folder written another way is no mismatch
    m = D.distill({**job, "dataset": f"imagefolder:{root / 'folder'}/", "distill": {**job["distill"], "epochs": 1}},
                  tmp_path / "same")
    assert "dataset_mismatch" not in m


def test_teacher_dataset_mismatch_allowed_is_recorded(world, tmp_path):
    job, root, other = world
    cfg = {**job["distill"], "epochs": 1, "allow_dataset_mismatch": True}
    m = D.distill({**job, "dataset": f"imagefolder:{other}", "distill": cfg}, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["dataset_mismatch"] == {"teacher_dataset": f"imagefolder:{root / 'folder'}",
                                         "eval_dataset": f"imagefolder:{other}"} == m["dataset_mismatch"]
    assert any(d.startswith("dataset_mismatch:") for d in saved["deviations"])


def test_class_count_mismatch_is_refused_even_when_allowed(world, tmp_path):
    job, root, other = world
    two = tmp_path / "two"
    for split in ("train", "test"):
        for c in ("c0", "c1"):
            shutil.copytree(root / "folder" / split / c, two / split / c)
    cfg = {**job["distill"], "allow_dataset_mismatch": True}
    with pytest.raises(ValueError, match=r"has 3 classes, the evaluation dataset imagefolder:.*two has 2"):
        D.distill({**job, "dataset": f"imagefolder:{two}", "distill": cfg}, tmp_path / "out")


def test_cli_dataset_mismatch_refused_then_accepted_with_the_flag(world, tmp_path, monkeypatch, capsys):
    job, root, other = world
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = cli_args(job, out, "--dataset", f"imagefolder:{other}", "--epochs", "1")
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(other) in err[0] and str(root / "folder") in err[0]
    assert "--allow-dataset-mismatch" in err[0]
    assert cli.main([*args, "--allow-dataset-mismatch"]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["dataset_mismatch"]["eval_dataset"] == f"imagefolder:{other}"


def test_allow_dataset_mismatch_leaves_job_ids_unchanged(params):
    cfg = D.resolve_config(params["distill"])
    assert "allow_dataset_mismatch" not in cfg  # omitted while false: every params_hash is as before
    assert D.resolve_config({**params["distill"], "allow_dataset_mismatch": True})["allow_dataset_mismatch"] is True
    a = jobs.distill_job(params, "cifar10_jpeg", "animals", 0)
    explicit = {**params, "distill": D.resolve_config({**params["distill"], "allow_dataset_mismatch": False})}
    assert jobs.distill_job(explicit, "cifar10_jpeg", "animals", 0).id == a.id  # params.yaml saying false
    allowed = {**params, "distill": D.resolve_config({**params["distill"], "allow_dataset_mismatch": True})}
    assert jobs.distill_job(allowed, "cifar10_jpeg", "animals", 0).id != a.id  # an allowed run is another job
