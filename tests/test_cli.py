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
