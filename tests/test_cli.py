import subprocess
import sys

import pytest

from augprior import cli

AUGPRIOR = [sys.executable, "-m", "augprior.cli"]


@pytest.mark.parametrize("command", ["fetch", "patches", "train-teacher", "distill", "table"])
def test_every_subcommand_has_help(command):
    out = subprocess.run([*AUGPRIOR, command, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: augprior" in out.stdout


def test_fetch_resolves_from_the_mirror(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path))
    assert cli.main(["fetch", "animals", "--mirror", str(mirror)]) == 0
    assert "animals.png" in capsys.readouterr().out


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path))
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    assert cli.main(["fetch", "moon-landing"]) == 2
    assert "unknown source image 'moon-landing'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("scale: ci\nteacher: [1, 2\n")
    assert cli.main(["train-teacher", "--params", str(bad), "--out", str(tmp_path / "t")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_help_lists_the_declared_options_with_their_descriptions(capsys):
    from augprior.options import AugmentOptions, DistillOptions

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in ("fetch", "patches", "train-teacher", "distill", "table"))
    with pytest.raises(SystemExit):
        cli.main(["distill", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for model in (DistillOptions, AugmentOptions):
        for name, field in model.model_fields.items():
            if name != "augment":
                assert f"--{name.replace('_', '-')}" in out, name
                assert " ".join(field.description.split()) in out, name
    assert "--no-cutmix" in out and "(default: 512)" in out


@pytest.mark.parametrize("argv, flag, expected", [
    (["--epochs", "-1"], "--epochs", "expected an integer >= 1"),
    (["--batch-size", "0"], "--batch-size", "expected an integer >= 2"),
    (["--lr", "-0.1"], "--lr", "expected a number > 0"),
    (["--student", "nosuchnet"], "--student", "unknown architecture 'nosuchnet'"),
    (["--optimizer", "rmsprop"], "--optimizer", "invalid choice"),
    (["--signal", "soft"], "--signal", "unknown teacher signal"),
    (["--grayscale-p", "2"], "--grayscale-p", "expected a number in [0, 1]"),
])
def test_bad_distill_options_are_one_line_errors_with_exit_2(tmp_path, capsys, argv, flag, expected):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["distill", "--teacher", str(tmp_path / "t.pt"), "--out", str(tmp_path / "o"), *argv])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("augprior distill: error: argument " + flag) and expected in last


def test_bad_teacher_and_patch_options_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train-teacher", "--out", str(tmp_path / "t"), "--epochs", "-3"])
    assert exit_.value.code == 2 and "argument --epochs: -3: expected an integer >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["patches", "--image", "animals", "--out", str(tmp_path / "p.npy"), "--num", "0"])
    assert exit_.value.code == 2 and "argument --num: 0: expected an integer >= 1" in capsys.readouterr().err


def test_cross_option_errors_are_one_line_with_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no params.yaml: the declared defaults
    rc = cli.main(["distill", "--teacher", "t.pt", "--out", "o", "--loss", "l1", "--signal", "top5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "distill.loss='l1'" in err[0]


def test_device_without_cuda_is_a_one_line_error(tmp_path, capsys, monkeypatch, repo):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["distill", "--teacher", "t.pt", "--out", "o", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("augprior distill: error: --device cuda:")
    assert cli.main(["train-teacher", "--params", str(repo / "params.yaml"), "--out", "t", "--device", "cuda"]) == 2
    assert "--device cuda:" in capsys.readouterr().err
    assert cli.main(["patches", "--image", "animals", "--out", "p.npy", "--device", "cuda:0"]) == 2
    assert "--device cuda:0:" in capsys.readouterr().err


def test_cli_distill_job_is_the_workflows_job(repo, tmp_path):
    """Built by jobs.distill_job: same distill block, seed and run settings as the workflow's job."""
    from augprior import config, jobs

    args = cli.build_parser().parse_args(["distill", "--teacher", "T.pt", "--patches", "P.npy", "--out", "o",
                                          "--params", str(repo / "params.yaml"), "--scale", "ci",
                                          "--dataset", "cifar10_jpeg", "--warmup-epochs", "0"])
    spec = cli.distill_job_from_args(args)
    params = config.load(repo / "params.yaml", {"scale": "ci"})
    ref = jobs.distill_job(params, "cifar10_jpeg", "animals", params["seed"]).spec
    assert spec["distill"] == ref["distill"] and isinstance(spec["distill"]["warmup_epochs"], int)
    assert {k: spec[k] for k in ("seed", "scale", "device", "precision", "num_threads", "dataset")} == \
        {k: ref[k] for k in ("seed", "scale", "device", "precision", "num_threads", "dataset")}
    assert spec["teacher_path"] == "T.pt" and spec["patches_path"] == "P.npy"
    args = cli.build_parser().parse_args(["distill", "--teacher", "T.pt", "--out", "o", "--params",
                                          str(repo / "params.yaml"), "--scale", "ci", "--input", "dataset",
                                          "--input-dataset", "cifar10_jpeg", "--subset", "10000"])
    assert cli.distill_job_from_args(args)["input"] == \
        jobs.distill_job(params, "cifar10_jpeg", "dataset:cifar10_jpeg:10000", 0).spec["input"]
