import math

import pandas as pd

from augprior import config, experiments, fileio, tables


def _cells(repo, seeds=1, name="table3"):
    params = config.load(repo / "params.yaml", {"scale": "ci", "table3.seeds": seeds, "data.download": True})
    return experiments.cells(name, params)


def test_rows_have_paper_values_and_missing_cells_stay_empty(repo, tmp_path):
    cells = _cells(repo)
    df = tables.build_rows(cells, tmp_path)
    assert list(df.columns) == tables.COLUMNS
    assert len(df) == 13
    paper = dict(zip(df.setting[df.part == "3a"], df.paper[df.part == "3a"]))
    assert paper == {"noise": 69.30, "universe": 88.18, "bridge": 92.24, "city": 93.13, "animals": 93.28}
    assert df.reproduced.isna().all()
    assert df.notes.str.contains("missing").all()
    assert set(df.dataset) == {"CIFAR-10 (JPEG)"}


def test_replicates_give_mean_and_std(repo, tmp_path):
    cells = _cells(repo, seeds=2)
    first = cells[0]
    for job, acc in zip(first.jobs, (50.0, 54.0)):
        fileio.write_json(tmp_path / f"results/ci/distill/{job.id}/metrics.json", {"top1": acc})
    df = tables.build_rows(cells, tmp_path)
    row = df.iloc[0]
    assert (row.reproduced, row.n) == (52.0, 2)
    assert math.isclose(row["std"], 2.828, abs_tol=0.01)
    assert math.isclose(row.delta, 52.0 - 69.30, abs_tol=1e-6)
    md = tables.to_markdown(df, "T", "ci")
    assert "52.00 ± 2.83 (n=2)" in md


def test_uncomputable_cells_are_empty_with_a_reason(repo, tmp_path, monkeypatch):
    monkeypatch.delenv("AUGPRIOR_MIRROR", raising=False)
    monkeypatch.setenv("AUGPRIOR_CACHE", str(tmp_path / "cache"))
    params = config.load(repo / "params.yaml", {"scale": "ci"})  # ci: data.download is false
    df = tables.build_rows(experiments.cells("table1", params), tmp_path)
    c100 = df[df.dataset == "CIFAR-100"]
    assert len(c100) == 4 and c100.reproduced.isna().all()
    assert c100.notes.str.contains("not computed: cifar100 is neither in the cache nor in the mirror").all()
    assert list(c100.paper) == [76.29, 78.06, 72.95, 73.80]
    df9 = tables.build_rows(experiments.cells("table9", params), tmp_path)
    assert df9[df9.part.str.startswith("ImageNet")].notes.str.contains("ImageNet is not available").all()


def test_cross_setting_paper_values_have_no_delta(repo, tmp_path):
    cells = _cells(repo, name="table11")
    for job in cells[0].jobs:
        fileio.write_json(tmp_path / f"results/ci/distill/{job.id}/metrics.json", {"top1": 12.0})
    df = tables.build_rows(cells, tmp_path)
    assert df.iloc[0].reproduced == 12.0 and df.iloc[0].paper == 0.1 and pd.isna(df.iloc[0].delta)


def test_paper_tables_are_the_shared_copies(repo):
    from augprior import paper

    assert len(paper.table("table3c")) == 5
    df = pd.read_csv(repo / "src/augprior/resources/paper/table3b.csv")
    assert list(df.teacher_signal) == ["full", "top5", "argmax"]


def test_figure_modules_plot_their_cells(repo, tmp_path):
    from augprior.experiments import EXPERIMENTS

    cells = _cells(repo, name="fig4")
    df = tables.build_rows(cells, tmp_path)
    df["reproduced"] = [20.0 + i for i in range(len(df))]
    fig4 = EXPERIMENTS.get("fig4")
    out = fig4.plot(df, cells, tmp_path / "fig4.png", fig4.title)
    assert (tmp_path / "fig4.png").stat().st_size > 0
    assert list(zip(out.depth, out.width)) == [(c.extra["depth"], c.extra["width"]) for c in cells]


def test_rows_show_the_teacher_the_students_share_and_the_test_images(repo, tmp_path):
    cells = _cells(repo)
    job = cells[0].jobs[0]
    fileio.write_json(tmp_path / f"results/ci/distill/{job.id}/metrics.json",
                      {"top1": 40.0, "teacher_top1": 80.0, "n": 2000,
                       "warnings": ["collapse: the student's predictions on the test set put 91% on class 3"]})
    df = tables.build_rows(cells, tmp_path)
    row = df.iloc[0]
    assert (row.teacher_top1, row.student_share, row.n_test) == (80.0, 50.0, "2000")
    assert "warning: collapse: the student's predictions" in row.notes
    md = tables.to_markdown(df, "T", "ci")
    assert f"*({40.0 - 69.30:+.2f})*" in md and "compares different settings" in md  # shown, not compared
    assert "differences under about 2 points are not resolved" in md and "**Some runs warn**" in md
    lines = [line for line in md.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert {"teacher_top1", "student_share", "n_test", "delta"} <= set(header)
    first = [c.strip() for c in lines[2].strip("|").split("|")]
    assert first[header.index("run_dirs")] == row.run_dirs  # the same text as the CSV
    paper_md = tables.to_markdown(df, "T", "paper")
    assert "-29.3" in paper_md and "*(" not in paper_md and "compares different settings" not in paper_md


def test_a_users_image_folder_is_not_compared_with_the_papers_cifar_value(repo, tmp_path):
    folder = tmp_path / "digits"
    for split in ("train", "test"):
        (folder / split / "a").mkdir(parents=True)
    params = config.load(repo / "params.yaml", {"scale": "ci", "table3.datasets": [f"imagefolder:{folder}"],
                                                "table3.images": ["animals"], "table3.signals": [],
                                                "table3.augment_combos": []})
    cells = experiments.cells("table3", params)
    assert len(cells) == 1 and not cells[0].reason
    fileio.write_json(tmp_path / f"results/ci/distill/{cells[0].jobs[0].id}/metrics.json", {"top1": 30.0})
    row = tables.build_rows(cells, tmp_path).iloc[0]
    assert row.reproduced == 30.0 and pd.isna(row.delta) and "paper value is from another setting" in row.notes


def test_figure_titles_name_scale_and_dataset_and_table_jobs_say_what_they_did(repo, tmp_path):
    cells = _cells(repo, name="fig4")
    assert tables.figure_title("Figure 4", "ci", cells) == "Figure 4 (scale ci, CIFAR-10 (JPEG))"
    df = tables.build_rows(cells, tmp_path)
    line = tables.summary_line("fig4", df, "paper_tables/fig4.csv")
    assert line.startswith(f"fig4: 0/{len(df)} rows computed from {len(df)} runs, 0 empty with a reason")
    assert line.endswith("-> paper_tables/fig4.csv and paper_tables/fig4.md")
