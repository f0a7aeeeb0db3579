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
