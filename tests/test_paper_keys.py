"""Paper values by key, never by position: every paper CSV row a table module claims is reproduced by a
cell or listed as not reproduced (with a reason), and every cell names a row the CSV has."""

import pytest

from augprior import config, experiments, paper
from augprior.experiments import EXPERIMENTS


@pytest.mark.parametrize("scale", ["paper", "laptop", "ci"])
@pytest.mark.parametrize("name", EXPERIMENTS.names())
def test_cells_name_paper_rows_by_key(repo, name, scale):
    exp = EXPERIMENTS.get(name)
    cells = experiments.cells(name, config.load(repo / "params.yaml", {"scale": scale}))
    named: dict[str, set] = {csv: set() for csv in exp.paper_keys}
    for cell in cells:
        ref = cell.paper_ref
        if ref is None:
            assert cell.paper is None, f"{name} {cell.part}/{cell.setting}: a paper value without a paper row"
            continue
        where = f"{name} {cell.part}/{cell.setting}"
        assert ref.table in exp.paper_keys, f"{where}: {ref.table}.csv is not declared in {name}'s paper_keys"
        assert ref.key_columns == exp.paper_keys[ref.table], f"{where}: keyed by {ref.key_columns}"
        assert ref.key_values in paper.keys(ref.table, ref.key_columns), \
            f"{where} names paper row {dict(ref.key)}, which {ref.table}.csv does not have"
        assert ref.column in paper.table(ref.table).columns, f"{where}: {ref.table}.csv has no column {ref.column!r}"
        assert cell.paper == paper.lookup(ref)
        named[ref.table].add(ref.key_values)
    for csv, columns in exp.paper_keys.items():
        skipped = exp.not_reproduced.get(csv, {})
        assert all(reason for reason in skipped.values()), f"{name}: a not-reproduced row of {csv} has no reason"
        rows = set(paper.keys(csv, columns))
        assert len(rows) == len(paper.table(csv)), f"{csv}.csv: the key {columns} does not name one row each"
        assert set(skipped) <= rows, f"{name}: not_reproduced names rows {set(skipped) - rows} {csv}.csv lacks"
        missing = rows - named[csv] - set(skipped)
        assert not missing, f"{csv}.csv rows {sorted(missing)} are neither reproduced by a {name} cell nor listed " \
                            f"in {name}.not_reproduced with a reason"
        assert not named[csv] & set(skipped), f"{name}: rows both reproduced and listed as not reproduced"


def test_a_reordered_or_short_list_cannot_misplace_paper_values(repo):
    """Table 1's sources are keyed by paper row: dropping or reordering entries keeps each value on its row."""
    params = config.load(repo / "params.yaml", {"scale": "paper"})
    params["table1"] = dict(params["table1"], datasets=["cifar10_jpeg"], sources={
        "1 image (Animals) + augmentations": "animals", "CIFAR-10 train": "dataset:cifar10_jpeg"})
    cells = experiments.cells("table1", params)
    assert [(c.setting, c.paper) for c in cells] == [("1 image (Animals) + augmentations", 94.14),
                                                     ("CIFAR-10 train", 95.26)]


def test_paper_csvs_are_the_shared_originals(repo):
    shared = repo.parent / "shared" / "paper"
    if not shared.is_dir():
        pytest.skip("no ../shared/paper here")
    for csv in sorted((repo / "src/augprior/resources/paper").glob("*.csv")):
        assert csv.read_bytes() == (shared / csv.name).read_bytes(), csv.name
