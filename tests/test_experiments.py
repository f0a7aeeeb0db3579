from augprior import config, experiments, jobs, sources
from augprior.experiments import EXPERIMENTS


def _params(repo, **overrides):
    return config.load(repo / "params.yaml", {"scale": "paper", **overrides})


def _counts(cells):
    return {k: len(v) for k, v in experiments.collect({"t": cells}).items() if v}


def test_table3_shares_cells_between_parts(repo):
    cells = experiments.cells("table3", _params(repo, **{"table3.datasets": ["cifar10_jpeg"]}))
    assert [c.part for c in cells].count("3a") == 5
    assert [c.part for c in cells].count("3b") == 3
    assert [c.part for c in cells].count("3c") == 5
    # 3a animals, 3b full and 3c flip+crop+cutmix are the same experiment: one job
    assert _counts(cells) == {"teacher": 1, "patches": 5, "distill": 11}
    base = [c for c in cells if (c.part, c.setting) in
            {("3a", "animals"), ("3b", "full"), ("3c", "flip-crop-cutmix")}]
    assert len({c.jobs[0].id for c in base}) == 1


def test_changing_a_parameter_changes_the_path(repo):
    a = jobs.distill_job(_params(repo), "cifar10_jpeg", "city", 0)
    b = jobs.distill_job(_params(repo, **{"distill.lr": 0.002}), "cifar10_jpeg", "city", 0)
    c = jobs.distill_job(_params(repo, **{"patches.num": 1000}), "cifar10_jpeg", "city", 0)
    assert len({a.id, b.id, c.id}) == 3
    assert a.id.startswith("cifar10_jpeg/wrn40_4-wrn16_4/city/full_kd_flip-crop-cutmix_")


def test_seeds_make_replicates(repo):
    params = _params(repo, **{"table3.seeds": 3})
    cells = experiments.cells("table3", params)
    datasets = len(params["table3"]["datasets"])  # CIFAR-10 and CIFAR-100 at paper scale
    assert all(len(c.jobs) == 3 for c in cells)
    counts = _counts(cells)
    assert counts["distill"] == 33 * datasets
    assert counts["teacher"] == datasets  # replicates share their dataset's teacher


def test_top_k_signal_is_parsed(repo):
    cell = [c for c in experiments.cells("table3", _params(repo, **{"table3.signals": ["top3"]})) if c.part == "3b"][0]
    assert cell.jobs[0].spec["distill"]["signal"] == "topk"
    assert cell.jobs[0].spec["distill"]["topk"] == 3
    assert cell.paper is None  # the paper has no top-3 row


def test_sources_map_to_engine_inputs(repo):
    params = _params(repo, **{"full_data_subset": 2000})
    src = sources.parse_source(params, "dataset:cifar10_jpeg:10000")
    assert src.input == {"kind": "dataset", "name": "cifar10_jpeg", "split": "train", "subset": 2000}
    assert src.made_by is None and src.datasets == ("cifar10_jpeg",)
    src = sources.parse_source(params, "mix0.8:city")
    assert src.input["kind"] == "noise_mix" and src.input["alpha"] == 0.8 and src.made_by.kind == "patches"
    src = sources.parse_source(params, "synthetic:fractal")
    assert src.input["path"].endswith("synthetic.npy") and src.made_by.kind == "synthetic"
    assert sources.parse_source(params, "noise_normal").input["kind"] == "noise_normal"
    assert sources.parse_source(params, "zeroskd").kind == "zeroskd"
    src = sources.parse_source(params, "skimage:coffee")
    assert src.kind == "image" and src.input is None and src.made_by.spec["image"] == "skimage:coffee"
    d = jobs.distill_job(params, "cifar10_jpeg", "city", 0)
    assert "input" not in d.spec and d.spec["patches_path"].endswith("patches.npy")
    assert {j.kind for j in d.needs} == {"teacher", "patches"}


def test_every_table_and_figure_plans_at_every_scale(repo, monkeypatch):
    monkeypatch.setenv("AUGPRIOR_MIRROR", str(repo / "missing-mirror"))
    for scale in ("paper", "laptop", "ci"):
        params = config.load(repo / "params.yaml", {"scale": scale})
        for name in EXPERIMENTS:
            cells = experiments.cells(name, params)
            assert cells and all(c.jobs or c.reason for c in cells), (scale, name)
            assert all(c.table == name for c in cells)


def test_teacher_is_shared_and_only_its_own_params_retrain_it(repo):
    base = jobs.teacher_job(_params(repo), "cifar10_jpeg")
    other_distill = jobs.teacher_job(_params(repo, **{"distill.lr": 0.01, "patches.num": 10}), "cifar10_jpeg")
    assert base.id == other_distill.id
    assert jobs.teacher_job(_params(repo, **{"teacher.epochs": 5}), "cifar10_jpeg").id != base.id
    params = _params(repo, **{"table3.datasets": ["cifar10_jpeg"], "table9.dataset": "cifar10_jpeg",
                              "table11.dataset": "cifar10_jpeg"})
    found = experiments.collect({n: experiments.cells(n, params) for n in ("table3", "table9", "table11")})
    # every distillation of these tables reads the one table-3 teacher
    assert {j.spec["teacher_path"] for j in found["distill"].values()} == {jobs.job_path(base, "model.pt")}
    # ... and table 9's supervised student is the one other model trained with labels
    assert list(found["teacher"]) == [base.id, jobs.teacher_job(params, "cifar10_jpeg", "wrn16_4").id]


def test_jobs_are_built_without_side_effects(repo):
    """The same call twice gives equal jobs; nothing is registered anywhere (the workflow collects from cells)."""
    params = _params(repo)
    a, b = jobs.distill_job(params, "cifar10_jpeg", "animals", 0), jobs.distill_job(params, "cifar10_jpeg", "animals", 0)
    assert a == b and a.spec == b.spec and a is not b
    assert jobs.job_path(a) == f"results/paper/distill/{a.id}/metrics.json"
    z = jobs.zeroskd_job(params, "cifar10_jpeg", "wrn40_2", "wrn40_1", 0)
    assert [j.kind for j in z.needs] == ["teacher"] and z.spec["teacher_path"] == jobs.job_path(z.needs[0], "model.pt")


def test_results_layout_is_one_function(repo):
    params = _params(repo, scale="ci")
    p = jobs.patches_job(params, "city")
    assert p.scale == "ci" and jobs.job_path(p) == f"results/ci/patches/{p.id}/patches.npy"
    assert jobs.layout("ci", "distill", name="student.pt") == "results/ci/distill/{job}/student.pt"
    assert jobs.log_path("ci", "teacher") == "results/ci/logs/teacher/{job}.log"
