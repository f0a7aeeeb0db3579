"""The 224-px engine (issue 14): patch sets far larger than memory as resumable shards streamed by shard
windows, or rendered per step on the training device (large_scale.patches.storage), and the planned
224-px distillations on resources.distill_224's GPUs under torchrun (rule distill_torchrun)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from augprior import config, experiments, large_scale, sources
from augprior.patches import OnTheFlyPatches, PatchSpec, generate, load_patch_set, make_patch_set, store
from augprior.rule_helpers import RuleHelpers
from augprior.training_inputs import IndexedInputs, SampledInputs, build_inputs

SPEC = PatchSpec(size=32)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)


# -- shards: a SIGKILLed writer resumes to the identical set ------------------------------------

KILLER = """
import os, signal, sys
import numpy as np
from augprior.patches import PatchSpec, make_patch_set, store
real, calls = store.Producer.chunks, []
def chunks(self, start, num):
    calls.append(start)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-set: shard 2's temp file is open, no cleanup runs
    yield from real(self, start, num)
store.Producer.chunks = chunks
image = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
make_patch_set(image, sys.argv[1], PatchSpec(size=32), num=100, seed=3, engine="fast", shard_size=20, progress=False)
"""


def test_a_sigkilled_shard_writer_resumes_at_the_first_missing_shard_to_the_identical_set(tmp_path, image,
                                                                                          monkeypatch):
    out = tmp_path / "shards" / "index.json"  # what rule make_patch_shards names: the folder's completion marker
    proc = subprocess.run([sys.executable, "-c", KILLER, str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = sorted(os.listdir(out.parent))
    assert "index.json" not in left and {"shard-00000.npy", "shard-00001.npy", ".progress.json"} <= set(left)
    starts = []
    real = store.Producer.chunks
    monkeypatch.setattr(store.Producer, "chunks", lambda self, s, n: (starts.append(s), (yield from real(self, s, n)))[1])
    meta = make_patch_set(image, out, SPEC, num=100, seed=3, engine="fast", shard_size=20, progress=False)
    assert starts == [40, 60, 80]                       # the two finished shards were kept
    assert sorted(os.listdir(out.parent)) == ["index.json"] + [f"shard-{k:05d}.npy" for k in range(5)]
    assert meta["count"] == 100 and len(meta["shards"]) == 5
    want = generate(image, SPEC, 100, seed=3, engine="fast")
    got = load_patch_set(out, verify=True)
    assert np.array_equal(got[:].permute(0, 2, 3, 1).numpy(), want)


# -- shards: streamed by shard windows ----------------------------------------------------------

@pytest.fixture(scope="module")
def shards(tmp_path_factory, image):
    folder = tmp_path_factory.mktemp("sh") / "shards"
    make_patch_set(image, folder, SPEC, num=100, seed=1, engine="fast", shard_size=10, progress=False)
    return folder


def test_shard_window_order_is_seeded_covers_every_patch_once_and_reads_few_shards(shards):
    sets = load_patch_set(shards)
    assert all(isinstance(a, np.memmap) for a in sets._arrays)  # nothing is read into memory up front
    inputs = IndexedInputs(sets, 100, 10, 7, "patches", {}, shuffle_window=3)
    e0, e1 = inputs.order(0), inputs.order(1)
    assert sorted(e0.tolist()) == list(range(100)) and not torch.equal(e0, e1)
    assert torch.equal(e0, IndexedInputs(sets, 100, 10, 7, "patches", {}, shuffle_window=3).order(0))  # resumed
    assert not torch.equal(e0, IndexedInputs(sets, 100, 10, 8, "patches", {}, shuffle_window=3).order(0))
    for w in range(0, 100, 30):  # runs of 3 shards: 30 patches from exactly 3 shards (the last: 1)
        assert len(set((e0[w:w + 30] // 10).tolist())) == len(range(w, min(100, w + 30), 10))
    # one epoch of batches through the input spec: every patch once, the same images as the set holds
    spec = {"kind": "patches", "path": str(shards / "index.json"), "shuffle_window": 3}
    built = build_inputs(spec, batch_size=10, seed=7)
    seen = [built.batch(0, s) for s in range(built.steps_per_epoch)]
    assert sorted(torch.cat([i for _, i in seen]).tolist()) == list(range(100))
    assert torch.equal(seen[4][0], sets[seen[4][1]]) and built.describe()["shuffle_window"] == 3
    # two data-parallel ranks: their slices are the global batch
    ranks = [build_inputs(spec, batch_size=10, seed=7).shard(r, 2).batch(0, 4)[1] for r in range(2)]
    assert torch.equal(torch.cat(ranks), seen[4][1])


# -- on the fly: per step, on the training device, the same patches after a resume ---------------

def test_on_the_fly_batches_are_a_function_of_the_step_and_ranks_render_only_their_slice(image):
    otf = OnTheFlyPatches(image, SPEC, seed=2)
    a = SampledInputs(otf, 16, 64, "patches", {})
    b = SampledInputs(OnTheFlyPatches(image, SPEC, seed=2), 16, 64, "patches", {})  # a resumed run's object
    assert torch.equal(a.batch(1, 3)[0], b.batch(1, 3)[0]) and not torch.equal(a.batch(1, 3)[0], a.batch(1, 2)[0])
    assert torch.equal(otf.sample_range(5, 12, 7), otf.sample(12, 7)[5:])
    ranks = [SampledInputs(otf, 16, 64, "patches", {}).shard(r, 2).batch(1, 3)[0] for r in range(2)]
    assert torch.equal(torch.cat(ranks), a.batch(1, 3)[0])


def _otf_job(tmp_path):
    from test_distill_resume import make_job

    job = json.loads(make_job(tmp_path).read_text())
    del job["patches_path"]
    job["input"] = {"kind": "patches", "num": 64,
                    "on_the_fly": {"image": "skimage:coffee", "spec": SPEC.to_dict(), "engine": "fast"}}
    job["distill"].update(epochs=2, eval_every=0, checkpoint_every_steps=0)
    return job


def test_an_on_the_fly_distillation_stopped_mid_epoch_resumes_bit_identical(tmp_path, monkeypatch):
    from augprior import distill as D

    job = _otf_job(tmp_path)
    whole = D.distill(job, tmp_path / "whole")
    real = D.generator

    def stop_at_step_2_of_epoch_1(seed, tag, epoch, step):  # SIGTERM, as SLURM preempts: checkpoint, exit 143
        if (epoch, step) == (1, 2):
            signal.raise_signal(signal.SIGTERM)
        return real(seed, tag, epoch, step)

    monkeypatch.setattr(D, "generator", stop_at_step_2_of_epoch_1)
    with pytest.raises(SystemExit) as stopped:
        D.distill(job, tmp_path / "resumed")
    assert stopped.value.code == 143 and (tmp_path / "resumed" / "state.pt").exists()
    monkeypatch.setattr(D, "generator", real)
    resumed = D.distill(job, tmp_path / "resumed")
    assert resumed["resumes"] == [{"epoch": 1, "step": 3}]
    a = torch.load(tmp_path / "whole" / "student.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "resumed" / "student.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [p["train_loss"] for p in resumed["curve"]] == [p["train_loss"] for p in whole["curve"]]
    assert whole["input"]["sampler"]["mode"] == "on_the_fly" and whole["images_per_s_per_device"] > 0


# -- the plan: storage choice and the torchrun rule ---------------------------------------------

def _paper(repo, kind):
    p = config.load(repo / "params.yaml", {"scale": "paper"})
    p["large_scale"]["patches"] = {**p["large_scale"]["patches"], "storage": {"kind": kind, "shuffle_window": 4}}
    return p


@pytest.mark.parametrize("kind", ["shards", "on_the_fly"])
def test_the_storage_param_chooses_shards_or_on_the_fly_patches_for_every_224px_distillation(repo, kind):
    p = _paper(repo, kind)
    cells = [c for c in experiments.cells("table7", p) if c.jobs and c.jobs[0].kind == "distill"]
    assert len(cells) == 10
    for c in cells:
        job = c.jobs[0]
        inp = job.spec["input"]
        if kind == "shards":
            patches = job.needs[1]
            assert inp == {"kind": "patches", "path": f"results/paper/patches/{patches.id}/{sources.PATCH_SHARDS}",
                           "shuffle_window": 4}
            assert "storage" not in patches.spec["patches"] and patches.spec["patches"]["num"] == 1281167
        else:
            assert [n.kind for n in job.needs] == ["teacher"]  # nothing to write first
            otf = inp["on_the_fly"]
            assert (inp["num"], otf["image"], otf["spec"]["size"], otf["engine"]) == (1281167, "city", 256, "fast")
    # the same patch job either way (storage is how, not what): one id for the shards and the .npy file
    shards = sources.parse_source(large_scale.params_224(_paper(repo, "shards"), "imagenet1k"), "city").made_by
    p = config.load(repo / "params.yaml", {"scale": "paper"})
    p["large_scale"]["patches"] = {k: v for k, v in p["large_scale"]["patches"].items() if k != "storage"}
    npy = sources.parse_source(large_scale.params_224(p, "imagenet1k"), "city")
    assert npy.input is None and npy.made_by.id == shards.id and npy.made_by.spec == shards.spec


def test_torchrun_rule_takes_exactly_the_224px_distillations(repo):
    import re

    p = _paper(repo, "shards")
    cells = {name: experiments.cells(name, p) for name in ("table1", "table7")}
    helpers = RuleHelpers(p, cells, experiments.collect(cells))
    big = {j.id for c in cells["table7"] for j in c.jobs if j.kind == "distill"}
    small = {j.id for c in cells["table1"] for j in c.jobs if j.kind == "distill"}
    member, other = (re.compile(f"{helpers.torchrun_jobs(m)}/metrics\\.json") for m in (True, False))
    assert big and small
    assert all(member.fullmatch(f"{i}/metrics.json") and not other.fullmatch(f"{i}/metrics.json") for i in big)
    assert all(other.fullmatch(f"{i}/metrics.json") and not member.fullmatch(f"{i}/metrics.json") for i in small)
    assert helpers.rule_resources("distill_224")["gpu"] == 2 and helpers.rule_threads("distill_224") == 16


def test_paper_scale_table7_dry_run_on_slurm_launches_torchrun_on_two_gpus(repo):
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--workflow-profile", "profiles/slurm",
                          "--config", "scale=paper", "--", "paper_tables/table7.csv"], cwd=repo,
                         capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    blocks = log.split("rule ")
    ddp = [b for b in blocks if b.startswith("distill_torchrun:")]
    assert len(ddp) == 10 and not any(b.startswith("distill:") for b in blocks)
    assert all("gpu=2" in b and "slurm_partition=YOUR_GPU_PARTITION" in b for b in ddp)
    assert sum(b.startswith("make_patch_shards:") for b in blocks) == 1
