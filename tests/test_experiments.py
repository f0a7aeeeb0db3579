from augprior import config
from augprior.experiments import Plan


def _plan(repo, **overrides):
    return Plan(config.load(repo / "params.yaml", {"scale": "paper", **overrides}))


def test_table3_shares_cells_between_parts(repo):
    plan = _plan(repo)
    cells = plan.table3()
    assert [c.part for c in cells].count("3a") == 5
    assert [c.part for c in cells].count("3b") == 3
    assert [c.part for c in cells].count("3c") == 5
    # 3a animals, 3b full and 3c flip+crop+cutmix are the same experiment: one job
    assert {k: len(v) for k, v in plan.jobs.items() if v} == {"teacher": 1, "patches": 5, "distill": 11}
    base = [c for c in cells if (c.part, c.setting) in
            {("3a", "animals"), ("3b", "full"), ("3c", "flip-crop-cutmix")}]
    assert len({c.jobs[0].id for c in base}) == 1


def test_changing_a_parameter_changes_the_path(repo):
    a = _plan(repo).distill("cifar10_jpeg", "city", 0)
    b = _plan(repo, **{"distill.lr": 0.002}).distill("cifar10_jpeg", "city", 0)
    c = _plan(repo, **{"patches.num": 1000}).distill("cifar10_jpeg", "city", 0)
    assert len({a.id, b.id, c.id}) == 3
    assert a.id.startswith("cifar10_jpeg/wrn40_4-wrn16_4/city/full_kd_flip-crop-cutmix_")


def test_seeds_make_replicates(repo):
    plan = _plan(repo, **{"table3.seeds": 3})
    cells = plan.table3()
    assert all(len(c.jobs) == 3 for c in cells)
    assert len(plan.jobs["distill"]) == 33
    assert len(plan.jobs["teacher"]) == 1  # replicates share the teacher


def test_top_k_signal_is_parsed(repo):
    plan = _plan(repo, **{"table3.signals": ["top3"]})
    cell = [c for c in plan.table3() if c.part == "3b"][0]
    assert cell.jobs[0].spec["distill"]["signal"] == "topk"
    assert cell.jobs[0].spec["distill"]["topk"] == 3


def test_sources_map_to_engine_inputs(repo):
    plan = _plan(repo, **{"full_data_subset": 2000})
    spec, job = plan.source("dataset:cifar10_jpeg:10000")
    assert spec == {"kind": "dataset", "name": "cifar10_jpeg", "split": "train", "subset": 2000} and job is None
    spec, job = plan.source("mix0.8:city")
    assert spec["kind"] == "noise_mix" and spec["alpha"] == 0.8 and job.kind == "patches"
    spec, job = plan.source("synthetic:fractal")
    assert spec["path"].endswith("synthetic.npy") and job.kind == "synthetic"
    assert plan.source("noise_normal")[0]["kind"] == "noise_normal"
    d = plan.distill("cifar10_jpeg", "city", 0)
    assert "input" not in d.spec and d.spec["patches_path"].endswith("patches.npy")


def test_every_table_and_figure_plans_at_every_scale(repo, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_MIRROR", str(repo / "missing-mirror"))
    from augprior.experiments import FIGURES, TABLES

    for scale in ("paper", "laptop", "ci"):
        plan = Plan(config.load(repo / "params.yaml", {"scale": scale}))
        for name in TABLES + FIGURES:
            cells = plan.cells(name)
            assert cells and all(c.jobs or c.reason for c in cells), (scale, name)


def test_teacher_is_shared_and_only_its_own_params_retrain_it(repo):
    base = _plan(repo).teacher("cifar10_jpeg")
    other_distill = _plan(repo, **{"distill.lr": 0.01, "patches.num": 10}).teacher("cifar10_jpeg")
    assert base.id == other_distill.id
    assert _plan(repo, **{"teacher.epochs": 5}).teacher("cifar10_jpeg").id != base.id
    plan = _plan(repo)
    for name in ("table3", "table9", "table11"):
        plan.cells(name)
    # every distillation of these tables reads the one table-3 teacher
    assert {j.spec["teacher_path"] for j in plan.jobs["distill"].values()} == {plan.path(base, "model.pt")}
