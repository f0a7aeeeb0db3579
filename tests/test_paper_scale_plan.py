"""The paper scale follows the paper's experiments (issue 12): Table 3's CIFAR-100 column, Fig 2 on CIFAR-100,
the 1600x600 Animals, Baradad et al.'s random StyleGAN; laptop and ci keep what runs offline, labelled."""

import pytest

from augprior import config, experiments, jobs, manifest, paper, source_images, tables


def _params(repo, scale, **overrides):
    return config.load(repo / "params.yaml", {"scale": scale, **overrides})


def test_table3_has_its_cifar100_column_at_paper_scale_with_table1s_teacher(repo):
    params = _params(repo, "paper")
    cells = experiments.cells("table3", params)
    c100 = [c for c in cells if c.dataset == "cifar100"]
    assert len(c100) == 13 and all(c.jobs for c in c100)
    got = {(c.part, c.setting): c.paper for c in c100}
    assert got[("3a", "noise")] == 19.50 and got[("3a", "animals")] == 66.12
    assert got[("3b", "top5")] == 64.72 and got[("3c", "flip-crop")] == 55.05
    assert {c.paper_ref.column for c in c100} == {"cifar100"}
    # the CIFAR-100 teacher is the one Table 1 builds
    t1 = {j.spec["teacher_path"] for c in experiments.cells("table1", params) if c.dataset == "cifar100" for j in c.jobs}
    assert {j.spec["teacher_path"] for c in c100 for j in c.jobs} <= t1


@pytest.mark.parametrize("scale", ["laptop", "ci"])
def test_table3_stays_cifar10_below_paper_scale(repo, scale):
    assert {c.dataset for c in experiments.cells("table3", _params(repo, scale))} == {"cifar10_jpeg"}


@pytest.mark.parametrize("scale, dataset, n", [("paper", "cifar100", 23), ("laptop", "cifar10_jpeg", 23),
                                               ("ci", "cifar10_jpeg", 6)])
def test_fig2_dataset_per_scale_is_in_its_title(repo, scale, dataset, n):
    cells = experiments.cells("fig2", _params(repo, scale, **{"data.download": True}))
    assert {c.dataset for c in cells} == {dataset} and len(cells) == n
    label = "CIFAR-100" if dataset == "cifar100" else "CIFAR-10 (JPEG)"
    assert tables.figure_title("Figure 2", scale, cells) == f"Figure 2 (scale {scale}, {label})"


def test_animals_is_the_1600x600_copy_at_paper_scale_and_the_small_one_below(repo):
    entry = manifest.image_entry("animals_large")["file"]
    assert (entry["name"], entry["mirror"]) == ("img_a.jpg", "images/img_a.jpg")
    paper_scale, ci = _params(repo, "paper"), _params(repo, "ci")
    assert jobs.patches_job(paper_scale, "animals").spec["image"] == "animals_large"
    assert jobs.patches_job(paper_scale, "animals").id == jobs.patches_job(paper_scale, "animals_large").id
    assert jobs.patches_job(ci, "animals").spec["image"] == "animals"
    assert jobs.patches_job(ci, "animals").id == jobs.patches_job(dict(ci, source_images={}), "animals").id
    fig2 = {c.setting: c for c in experiments.cells("fig2", paper_scale)}
    assert fig2["animals"].extra["image"] == "animals_large"  # its JPEG size is the large copy's
    assert fig2["animals"].jobs[0].needs[1].spec["image"] == "animals_large"


def test_animals_large_resolves_to_the_mirrors_1600x600_image(mirror):
    assert source_images.image_size("animals_large", mirror=mirror) == (600, 1600)
    assert source_images.image_size("animals", mirror=mirror) == (225, 600)


def test_random_stylegan_is_baradads_at_paper_scale(repo):
    sg = jobs.synthetic_job(_params(repo, "paper"), "stylegan").spec["options"]
    assert (sg["mapping"], sg["render_size"]) == (False, 256)
    for scale in ("laptop", "ci"):  # rendered at 32 px: 256 px is too slow on a CPU
        sg = jobs.synthetic_job(_params(repo, scale), "stylegan").spec["options"]
        assert (sg["mapping"], sg["render_size"]) == (False, None)
    assert paper.table("table3a").cifar100.notna().all()


def _table4(repo, scale="ci"):
    from augprior.experiments import EXPERIMENTS

    cells = experiments.cells("table4", _params(repo, scale, **{"data.download": True}))
    return cells, EXPERIMENTS.get("table4").derive


def test_table4_delta_below_5_points_is_computed_from_its_two_distillation_rows(repo, tmp_path):
    from augprior import fileio

    from augprior.datasets import label

    cells, derive = _table4(repo)
    first = label(cells[0].dataset)  # the CIFAR-10 column
    c10 = [c for c in cells if c.dataset == cells[0].dataset]
    fake = {("resnet14 -> resnet8", "distilled on full data"): 90.0, ("resnet14 -> resnet8", "distilled on 1 image"): 86.5,
            ("resnet20 -> resnet8", "distilled on full data"): 90.0, ("resnet20 -> resnet8", "distilled on 1 image"): 84.0}
    for c in c10:
        if (c.part, c.setting) in fake:
            fileio.write_json(tmp_path / f"results/ci/distill/{c.jobs[0].id}/metrics.json", {"top1": fake[c.part, c.setting]})
    df = derive(tables.build_rows(cells, tmp_path), cells)
    one = df[df.setting == "distilled on 1 image"].set_index(["dataset", "paper_row"])
    vgg, res = one.loc[(first, "VGG-19 -> VGG-16")], one.loc[(first, "ResNet-56 -> ResNet-20")]
    assert (vgg.full_minus_one, vgg.gap_below_5pt) == (3.5, 1) and (res.full_minus_one, res.gap_below_5pt) == (6.0, 0)
    # the paper's own mark beside it (CIFAR-100 VGG: 71.19 vs 58.66, no), never copied into the computed column
    c100 = one.loc[("CIFAR-100", "VGG-19 -> VGG-16")]
    assert c100.paper_gap_below_5pt == 0 and c100.gap_below_5pt is None and c100.full_minus_one is None
    assert df[df.setting != "distilled on 1 image"].gap_below_5pt.isna().all()
    header = [line for line in tables.to_markdown(df, "T", "ci").splitlines() if line.startswith("|")][0]
    assert {"paper_row", "full_minus_one", "gap_below_5pt", "paper_gap_below_5pt"} <= {h.strip() for h in header.split("|")}


def test_table4_rows_name_the_architectures_run_and_paper_values_match_by_key(repo):
    cells, _ = _table4(repo, "ci")  # ci: VGG-19 -> VGG-16 runs as resnet14 -> resnet8
    rows = {(c.dataset, c.extra["paper_row"], c.setting): c for c in cells}
    vgg = rows[(cells[0].dataset, "VGG-19 -> VGG-16", "teacher (supervised)")]
    assert vgg.part == "resnet14 -> resnet8: teacher" and vgg.teacher == "resnet14" and vgg.paper == 93.28
    one = rows[("cifar100", "WRN-16-4 -> WRN-40-4", "distilled on 1 image")]
    assert one.part == "wrn10_1 -> wrn16_1" and (one.teacher, one.student) == ("wrn10_1", "wrn16_1")
    assert one.paper == 74.08 and dict(one.paper_ref.key) == {"dataset": "cifar100", "teacher": "WRN-16-4",
                                                               "student": "WRN-40-4"}
    labels = {c.part for c in cells}
    assert not any("VGG" in label or "WRN-" in label for label in labels)
    paper_cells, _ = _table4(repo, "paper")
    assert {c.part for c in paper_cells if c.setting == "distilled on 1 image"} >= {"vgg19_bn -> vgg16_bn"}


@pytest.mark.parametrize("scale", ["paper", "ci"])
def test_table9_has_the_papers_teacher_and_student_columns(repo, scale):
    params = _params(repo, scale, **{"data.download": True})
    cells = {(c.part, c.setting): c for c in experiments.cells("table9", params)}
    teacher, student = cells[("CIFAR-10", "teacher (supervised)")], cells[("CIFAR-10", "student (supervised)")]
    assert (teacher.paper, student.paper) == (95.4, 95.2)
    assert teacher.jobs[0].id == jobs.teacher_job(params, teacher.dataset).id  # the distillations' own teacher
    assert student.jobs[0].id == jobs.teacher_job(params, student.dataset, params["distill"]["student"]).id
    assert cells[("CIFAR-10", "KD")].jobs[0].spec["teacher_path"] == jobs.job_path(teacher.jobs[0], "model.pt")
    inet = {s: c for (part, s), c in cells.items() if part.startswith("ImageNet")}
    assert (inet["teacher (supervised)"].paper, inet["student (supervised)"].paper) == (69.8, 76.1)
    assert all(c.reason and not c.jobs for c in inet.values())
