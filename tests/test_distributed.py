"""Data-parallel distillation under torchrun, for real on CPU (gloo): 2 processes x 1 thread against one
process with the same global batch. With a student without BatchNorm (a 1-block ViT) and no random
augmentation (augprior.distributed says why those two differ) the students agree to float rounding."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from augprior.distributed import launch_command
from augprior.models import build_model
from test_distill_resume import make_job as resume_job

NO_AUG = {"hflip": False, "random_crop": False, "mixup": False, "cutmix": False}


def make_job(root: Path) -> dict:
    """test_distill_resume's world (image folder, resnet8 teacher, 64 patches) with a BatchNorm-free student."""
    job = json.loads(resume_job(root).read_text())
    job["distill"] = {"student": "vit_cifar_d1_w32_p8", "epochs": 2, "batch_size": 16, "lr": 1e-3,
                      "eval_every": 0, "deterministic": True, "augment": NO_AUG}
    return {**job, "seed": 1}


def torchrun(job: dict, root: Path, out: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    (root / "job.json").write_text(json.dumps(job))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(launch_command(nproc, str(root / "job.json"), str(out)), cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from augprior.distill import distill

    root = tmp_path_factory.mktemp("ddp")
    job = make_job(root)
    one = distill(job, root / "one")
    proc = torchrun(job, root, root / "two")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, job, one, json.loads((root / "two" / "metrics.json").read_text())


def test_two_gloo_processes_equal_one_process_with_the_same_global_batch(runs):
    root, _, one, two = runs
    a = torch.load(root / "one" / "student.pt", weights_only=False)["state_dict"]
    b = torch.load(root / "two" / "student.pt", weights_only=False)["state_dict"]
    assert a.keys() == b.keys()
    moved = max(float((a[k].float() - build_model("vit_cifar_d1_w32_p8", 3).state_dict()[k].float()).abs().max())
                for k in a if a[k].is_floating_point())
    assert moved > 1e-3  # the students did train
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    assert [p["train_loss"] for p in two["curve"]] == pytest.approx([p["train_loss"] for p in one["curve"]],
                                                                     rel=1e-3, abs=1e-8)
    assert two["teacher_top1_histogram"] == one["teacher_top1_histogram"]  # summed over both ranks
    assert two["steps"] == one["steps"] == 8 and two["batch_size"] == one["batch_size"] == 16
    assert two["top1"] == pytest.approx(one["top1"])


def test_metrics_record_world_size_and_images_per_second_per_device(runs):
    root, _, one, two = runs
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert (one["batch_size_per_device"], two["batch_size_per_device"]) == (16, 8)
    assert two["distributed"] == {"world_size": 2, "backend": "gloo"}
    for m in (one, two):
        assert m["images_per_s_per_device"] == pytest.approx(m["train_samples_per_s"] / m["world_size"], rel=0.01)
    assert sorted(os.listdir(root / "two")) == ["metrics.json", "student.pt"]  # rank 0 wrote, no leftovers


def test_each_rank_gets_its_slice_of_the_global_batch_and_a_batch_that_does_not_split_is_one_error():
    from augprior.training_inputs import IndexedInputs, InputError

    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1).expand(40, 3, 2, 2)
    full = IndexedInputs(images, 40, 8, 3, "patches", {}).batch(1, 2)[1]
    parts = [IndexedInputs(images, 40, 8, 3, "patches", {}).shard(r, 2).batch(1, 2)[1] for r in range(2)]
    assert torch.equal(torch.cat(parts), full)
    with pytest.raises(InputError, match="batch size 8 is not divisible by the 3 data-parallel processes"):
        IndexedInputs(images, 40, 8, 3, "patches", {}).shard(0, 3)


def test_launch_command_is_torchrun():
    cmd = launch_command(4, "j.json", "out")
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--nproc_per_node=4" in cmd
    assert cmd[-3:] == ["augprior.distributed", "j.json", "out"]
