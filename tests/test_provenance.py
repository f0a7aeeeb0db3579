"""A run's metrics.json names the code it started with, not whatever HEAD is when it finishes."""

import json
import os
import subprocess
import sys

SCRIPT = """
import json, subprocess
from augprior.provenance import provenance
subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "made while the run trains"], check=True)
print(json.dumps(provenance({}, scale=None, seed=0)["git"]))
"""


def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_a_run_records_the_commit_it_started_with(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "commit", "-q", "-m", "the run's code")
    started = _git(tmp_path, "rev-parse", "HEAD")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env={**os.environ, **env}, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"commit": started, "dirty": False}
    assert _git(tmp_path, "rev-parse", "HEAD") != started  # the commit during the run happened
