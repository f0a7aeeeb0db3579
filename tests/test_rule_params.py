"""What the rules hand Snakemake (augprior.rule_helpers): a compact tracked key per job and table, the job
spec and cells untracked (so `snakemake -n` prints a hash, not 40 KB of settings), and a start-up
empty-cell warning about the requested targets only."""

import dataclasses
from types import SimpleNamespace

import pytest
from snakemake.persistence import UNREPRESENTABLE, PersistenceBase

from augprior import config, experiments, rule_helpers


@pytest.fixture(scope="module")
def plan():
    from pathlib import Path

    params = config.load(Path(__file__).resolve().parents[1] / "params.yaml", {"scale": "ci"})
    cells = experiments.plan(params)
    return params, cells, rule_helpers.RuleHelpers(params, cells, experiments.collect(cells))


def recorded(value):
    """What Snakemake's persistence records (and prints in a dry run's reason) for a parameter value."""
    return PersistenceBase._serialize_param_builtin(None, value)


def test_jobs_pass_a_short_tracked_key_and_an_untracked_spec(plan):
    params, cells, rules = plan
    job_id, job = next(iter(rules.jobs["distill"].items()))
    wc = SimpleNamespace(job=job_id)
    key, spec = rules.job_key("distill")(wc), rules.job_param("distill")(wc)
    assert spec.value is job.spec and recorded(spec) is UNREPRESENTABLE
    assert recorded(key) == repr(key) and len(key) <= 16
    assert len(repr(job.spec)) > 20 * len(key)  # what the reason text printed before
    # a setting outside the job's id (device) still changes the key, so the job reruns
    moved = dataclasses.replace(job, spec={**job.spec, "device": "cpu" if job.spec["device"] != "cpu" else "auto"})
    other = rule_helpers.RuleHelpers(params, cells, {**rules.jobs, "distill": {job_id: moved}})
    assert other.job_key("distill")(wc) != key and moved.id == job_id


def test_tables_pass_a_key_of_their_cells_and_untracked_cells(plan):
    params, cells, rules = plan
    key = rules.table_key("table3")
    assert recorded(rules.table_cells("table3")) is UNREPRESENTABLE and rules.table_cells("table3").value is cells["table3"]
    assert key == rules.table_key("table3") and key != rules.table_key("table1")
    assert rules.table_key("fig3") != rules.table_key("fig3", params)
    assert recorded(rule_helpers.Untracked(params)) is UNREPRESENTABLE


def test_empty_cell_warning_names_only_what_the_targets_need(plan):
    params, cells, rules = plan
    everything = rules.empty_cell_reasons(["cifar100"], None)
    if not everything:
        pytest.skip("CIFAR-100 is in the cache or mirror here: no cell is empty for want of it")
    assert rules.empty_cell_reasons(["cifar100"], ["paper_tables/table3.csv"]) == []
    assert rules.empty_cell_reasons(["cifar100"], ["paper_tables/table1.csv", "paper_tables/table4.md"]) == everything
    assert rules.empty_cell_reasons(["cifar100"], []) == everything == rules.empty_cell_reasons(["cifar100"], ["all"])
    assert rule_helpers.requested_targets(["-n", "--cores", "2", "--", "paper_tables/table3.csv"]) == [
        "paper_tables/table3.csv"]
