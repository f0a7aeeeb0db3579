"""Issue 12, items 1, 3, 6: at paper scale a source-data distillation (a dataset: source) trains with Appendix
C.4.2's recipe (SGD, batch 128, 100 epochs of 2000 steps, the student family's step schedule) and says so in
its row, patch sources keep the patch recipe, laptop and ci keep the distill block for every source; paper
scale reads the official CIFAR-10, laptop and ci the mirror's JPEG copy; every row shows its steps."""

import pytest

from augprior import config, experiments, fileio, tables

RECIPE = ("optimizer", "lr_schedule", "batch_size", "epochs", "steps_per_epoch")


def _params(repo, scale, **overrides):
    return config.load(repo / "params.yaml", {"scale": scale, **overrides})


def _recipe(job):
    d = job.spec["distill"]
    return tuple(d.get(k) for k in RECIPE)


def test_source_data_rows_get_the_c42_recipe_at_paper_scale_and_patch_rows_keep_adam(repo):
    p = _params(repo, "paper")
    t1 = {c.setting: c for c in experiments.cells("table1", p) if c.dataset == "cifar10"}
    for row in ("CIFAR-10 train", "CIFAR-100 train", "CIFAR-10 train (10K subset)"):
        cell = t1[row]
        d = cell.jobs[0].spec["distill"]
        assert _recipe(cell.jobs[0]) == ("sgd", "paper", 128, 100, 2000), row
        assert d["weight_decay"] == 0.0005 and d["warmup_epochs"] == 0 and d["student"] == p["table1"]["student"]
        assert d["temperature"] == p["distill"]["temperature"] and d["augment"] == p["distill"]["augment"]
        assert cell.epochs == 100
        assert cell.notes == ["source-data recipe (Appendix C.4.2, params distill_full_data): SGD, batch 128, "
                              "100 epochs of 2000 steps, the student family's step schedule"]
    one = t1["1 image (Animals) + augmentations"]
    assert one.jobs[0].spec["distill"] == {**p["distill"], "student": p["table1"]["student"]}
    assert _recipe(one.jobs[0]) == ("adam", "constant", 512, 1000, None) and not one.notes
    # Tables 4 and 12: the full-data rows too; their supervised students are teacher jobs: the teacher recipe
    for name, row in (("table4", "distilled on full data"), ("table12", "full data")):
        full = [c for c in experiments.cells(name, p) if c.setting == row]
        assert full and all(_recipe(j) == ("sgd", "paper", 128, 100, 2000) for c in full for j in c.jobs), name
    for c in experiments.cells("table12", p):
        if c.setting == "student (supervised)":
            t = c.jobs[0].spec["teacher"]
            assert (c.jobs[0].kind, t["schedule"], t["batch_size"], t["epochs"], t["steps_per_epoch"]) == \
                ("teacher", "paper", 128, 100, 2000)
    # the table row says it
    df = tables.build_rows(list(t1.values()))
    assert df.notes[df.setting == "CIFAR-10 train"].iloc[0].startswith("source-data recipe (Appendix C.4.2")


def test_224px_real_image_rows_keep_the_large_scale_recipe(repo):
    p = _params(repo, "paper")
    rows = [c for c in experiments.cells("table8", p) if c.part == "ImageNet-1k" and c.setting.startswith("(a)")]
    assert rows and all(c.jobs[0].spec["distill"]["optimizer"] == p["large_scale"]["distill"]["optimizer"]
                        and not c.notes for c in rows)


@pytest.mark.parametrize("scale", ["laptop", "ci"])
def test_below_paper_scale_every_source_keeps_the_distill_block(repo, scale):
    p = _params(repo, scale, **{"data.download": True})
    assert p["distill_full_data"] is None
    assert "momentum" not in p["distill"] and "nesterov" not in p["distill"]  # the SGD keys keep ids as they were
    seen = 0
    for name in ("table1", "table2", "table4", "table12"):
        base = tuple({**p["distill"], **p[name].get("distill", {})}.get(k) for k in RECIPE)  # Table 1: its overrides
        for c in experiments.cells(name, p):
            assert not c.notes
            for j in c.jobs:
                if j.kind == "distill":
                    assert _recipe(j) == base, (name, c.setting)
                    seen += "input" in j.spec
    assert seen >= 4  # dataset sources among them


def test_paper_scale_reads_the_official_cifar10_and_laptop_ci_the_jpeg_copy(repo):
    def datasets(p):
        plan = experiments.plan(p)
        names = {c.dataset for cells in plan.values() for c in cells}
        for job in experiments.collect(plan)["distill"].values():
            names.add((job.spec.get("input") or {}).get("name"))
        return names

    paper_scale = datasets(_params(repo, "paper"))
    assert "cifar10" in paper_scale and "cifar10_jpeg" not in paper_scale
    for scale in ("laptop", "ci"):
        below = datasets(_params(repo, scale, **{"data.download": True}))
        assert "cifar10_jpeg" in below and "cifar10" not in below, scale
    t1 = experiments.cells("table1", _params(repo, "ci", **{"data.download": True}))
    assert "CIFAR-10 (JPEG)" in set(tables.build_rows(t1).dataset)


def test_rows_show_the_steps_their_runs_trained_for(repo, tmp_path):
    p = _params(repo, "ci", **{"data.download": True, "table3.seeds": 2})
    cells = experiments.cells("table3", p)
    for job in cells[0].jobs:
        fileio.write_json(tmp_path / f"results/ci/distill/{job.id}/metrics.json", {"top1": 50.0, "steps": 1950})
    df = tables.build_rows(cells, tmp_path)
    assert "steps" in tables.COLUMNS and df.steps.iloc[0] == "1950"
    assert df.steps.iloc[1:].isna().all()  # no metrics.json yet: no steps
    md = tables.to_markdown(df, "T", "ci")
    header = [h.strip() for h in next(ln for ln in md.splitlines() if ln.startswith("|")).strip("|").split("|")]
    first = [v.strip() for v in [ln for ln in md.splitlines() if ln.startswith("|")][2].strip("|").split("|")]
    assert first[header.index("steps")] == "1950" and "`steps` is the number of optimizer steps" in md


def test_table1_distill_overrides_give_every_row_one_step_budget_and_are_validated(repo):
    p = _params(repo, "laptop", **{"data.download": True})
    assert p["table1"]["distill"] == {"epochs": 10} and p["distill"]["epochs"] == 5
    t1 = [c for c in experiments.cells("table1", p) if c.dataset == "cifar10_jpeg"]
    assert len(t1) >= 3 and all(c.epochs == 10 for c in t1)
    assert {(j.spec["distill"]["epochs"], j.spec["distill"]["steps_per_epoch"]) for c in t1 for j in c.jobs} == {(10, 780)}
    one = next(c for c in t1 if c.setting.startswith("1 image")).jobs[0]
    animals = next(c for c in experiments.cells("table3", p) if c.setting == "animals").jobs[0]
    assert animals.spec["distill"]["epochs"] == 5 and animals.id != one.id  # Table 3 keeps the distill block
    assert {**one.spec["distill"], "epochs": 5} == animals.spec["distill"]
    for bad, said in (({"epochs": 0}, "distill.epochs = 0: expected an integer >= 1"),
                      ({"epoch": 10}, "distill.epoch: unknown key")):
        with pytest.raises(config.ParamsError, match=f"table1.distill = .*{said}"):
            _params(repo, "laptop", **{"table1.distill": bad})
