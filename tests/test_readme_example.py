"""The README's worked example ('Your own images and datasets'), run as written: the commands between the
`readme-example` markers, in a scratch copy of the repository's entry points, with only tiny epoch, batch
and image counts appended so that it takes seconds. `augprior` command lines run in this process
(`augprior.cli.main` with the same arguments: no new interpreter per step); every other command (the
Python snippet, the heredoc, snakemake, cat) runs in bash."""

import json
import re
import shlex
import subprocess
from pathlib import Path

import pandas as pd

from augprior import cli, manifest

REPO = Path(__file__).resolve().parents[1]
TINY_FLAGS = {  # appended to the README's command lines (argparse: the last value wins)
    "augprior train-teacher": "--epochs 1 --batch-size 64 --train-subset 256",
    "augprior patches": "--num 128",
    "augprior distill": "--epochs 1 --batch-size 64 --eval-subset 100",
}
TINY_YAML = """teacher: {epochs: 1, batch_size: 64, train_subset: 256}
patches: {num: 128}
distill: {epochs: 1, batch_size: 64, eval_subset: 100}
"""


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- readme-example:begin -->\n```bash\n(.*?)```\n<!-- readme-example:end -->", text, re.S)
    assert block, "README.md lost its worked example (the readme-example markers)"
    return block.group(1)


def commands(script: str) -> list[str]:
    """The script's commands: one line each, a heredoc together with its body; comments dropped."""
    out, lines = [], iter(script.splitlines())
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        if heredoc := re.search(r"<<'?(\w+)'?", line):
            body = [line]
            for more in lines:
                body.append(more)
                if more == heredoc.group(1):
                    break
            line = "\n".join(body)
        out.append(line)
    return out


def tiny(command: str) -> str:
    for verb, flags in TINY_FLAGS.items():
        if command.startswith(f".venv/bin/{verb} "):
            return f"{command} {flags}"
    if command.startswith(".venv/bin/snakemake ") and "mine.yaml" in command:
        return command.replace("mine.yaml", "mine.yaml tiny.yaml")
    return command


def test_readme_worked_example_from_a_folder_to_a_table_row(tmp_path, monkeypatch, capsys):
    script = readme_example()
    for verb in TINY_FLAGS:
        assert f".venv/bin/{verb} " in script
    work = tmp_path / "checkout"  # the repository's entry points; results and tables land here
    work.mkdir()
    for name in ("Snakefile", "workflow", "profiles", ".venv", "src"):
        (work / name).symlink_to(REPO / name)
    (work / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (work / "tiny.yaml").write_text(TINY_YAML)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1",
           "AUGPRIOR_CACHE": str(tmp_path / "cache"), "PWD": str(work)}
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    monkeypatch.setenv("AUGPRIOR_CACHE", env["AUGPRIOR_CACHE"])
    monkeypatch.chdir(work)
    printed = []
    for command in map(tiny, commands(script)):
        if command.startswith(".venv/bin/augprior "):
            argv = shlex.split(command.replace("$PWD", str(work)))[1:]
            assert cli.main(argv) == 0, f"{command}: {capsys.readouterr().err[-2000:]}"
        else:
            out = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=work, capture_output=True, text=True,
                                 timeout=600, env=env)
            assert out.returncode == 0, f"{command}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
            printed.append(out.stdout)

    teacher = json.loads((work / "results/mine/teacher/metrics.json").read_text())
    assert teacher["image_size"] == 32 and teacher["train_images"] == 256 and len(teacher["classes"]) == 10
    student = json.loads((work / "results/mine/student/metrics.json").read_text())
    assert 0 <= student["teacher_top1"] <= 100 and student["n"] == 100
    assert sum(student["teacher_top1_histogram"]) == 2 * 64  # 128 patches, batch 64, one epoch
    assert student["provenance"]["data"]["inputs"]["source_image"]["md5"] == manifest.md5sum(work / "my_photo.jpg")

    row = pd.read_csv(work / "paper_tables/table3.csv").iloc[0]
    assert (row.part, row.setting, row.dataset, row.scale) == ("3a", f"{work}/my_photo.jpg", "digits", "ci")
    assert 0 <= row.reproduced <= 100 and 0 < row.teacher_top1 <= 100 and str(row.n_test) == "100"
    assert pd.isna(row.paper) and pd.isna(row.delta)  # an image the paper never used: no paper value
    assert "/imagefolder-digits/" in row.run_dirs
    assert f"| 3a     | {work}/my_photo.jpg" in printed[-1]  # the md the example prints
    log = (work / "results/ci/logs/tables/table3.log").read_text()
    assert "table3: 1/1 rows computed from 1 runs" in log
