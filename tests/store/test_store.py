"""Tests of the DuckDB store on a real file (mlopslab.store.db, writes, migrations)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mlopslab.core.errors import NotFound, StoreError
from mlopslab.core.events import (
    ActionAudited,
    ArtifactRecorded,
    DatasetVersioned,
    Event,
    LogsWritten,
    MetricsLogged,
    ParamsLogged,
    RunCreated,
    RunUpdated,
    StepFinished,
    StepStarted,
)
from mlopslab.core.run import RunArtifact, RunInput, RunResources, RunSettings
from mlopslab.store.db import Store
from mlopslab.store.migrations import LATEST, MIGRATIONS, migrate

T0 = 1_700_000_000.0  # epoch seconds


def at(epoch: float) -> datetime:
    """A time as nouns hold it: aware, in UTC."""
    return datetime.fromtimestamp(epoch, UTC)


def run_created(run_id: str, project: str = "default", status: str = "queued",
                created_at: float = T0, **extra: Any) -> RunCreated:
    run = {
        "id": run_id, "project": project, "recipe": "tabular-classifier",
        "recipe_path": "/lab/recipes/tabular-classifier", "status": status,
        "user_name": "ada", "created_at": created_at, **extra,
    }
    return RunCreated(run=run)


def full_batch(run_id: str) -> list[Event]:
    """One batch with every kind of event a run produces."""
    return [
        run_created(run_id, seed=42, params={"lr": 0.1, "opt": "adam"},
                    resources={"cpus": 1, "gpus": 0}, options={"from_scratch": False},
                    deps={"numpy": "2.0"}, gpu_ids=[], host="box", pid=1234),
        ParamsLogged(run_id=run_id, params={"lr": 0.1, "opt": "adam", "deep": True}),
        MetricsLogged(run_id=run_id, points=[
            ["loss", 0, T0 + 1, 0.9], ["loss", 2, T0 + 3, 0.5], ["loss", 1, T0 + 2, 0.7],
            ["accuracy", 0, T0 + 4, 0.8],
        ]),
        LogsWritten(run_id=run_id, lines=[
            [T0 + 1, "stdout", "epoch 1"], [T0 + 2, "stderr", "warning: slow"],
        ]),
        ArtifactRecorded(run_id=run_id, name="model.onnx", sha256="ab" * 32, size=1234,
                         artifact_kind="model", step="export", ts=T0 + 5),
        StepFinished(run_id=run_id, name="split", idx=0, status="completed", cache_key="k0",
                     cached=True, started_at=T0 + 1, ended_at=T0 + 2),
        StepStarted(run_id=run_id, name="train", idx=1, started_at=T0 + 2),
        DatasetVersioned(run_id=run_id, name="train", hash="cd" * 32, source="local",
                         path="/data/train.csv", size=99, ts=T0),
        ActionAudited(ts=T0, actor="ada", action="run.create", target=run_id,
                      detail={"why": "test"}),
    ]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "lab.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path)
    yield s
    s.close()


# migrations ---------------------------------------------------------------------


def test_migrations_are_recorded(store: Store) -> None:
    rows = store.cursor().execute(
        "SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(v, name) for v, name, _ in MIGRATIONS]
    assert rows[-1][0] == LATEST


def test_migrations_are_idempotent_on_reopen(db_path: Path) -> None:
    first = Store(db_path)
    first.write([(None, [run_created("r1")])])
    first.close()
    second = Store(db_path)
    try:
        count = second.cursor().execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert count == (len(MIGRATIONS),)
        assert migrate(second.cursor()) == []
        assert second.get_run("r1").status == "queued"  # data survived the reopen
    finally:
        second.close()


def test_migrate_on_an_empty_database_applies_all(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    try:
        assert migrate(con) == [v for v, _, _ in MIGRATIONS]
        assert migrate(con) == []
    finally:
        con.close()


# writing and reading -------------------------------------------------------------


def test_write_then_read_a_run(store: Store) -> None:
    assert store.write([("b1", full_batch("run-1"))]) == [True]
    run = store.get_run("run-1")
    assert run.id == "run-1"
    assert run.status == "queued"
    assert run.project == "default"
    assert run.user_name == "ada"
    assert run.seed == 42
    assert run.attempt == 1
    # JSON columns come back decoded
    assert run.params == {"lr": 0.1, "opt": "adam"}
    assert run.resources == RunResources(cpus=1, gpus=0)
    assert run.options == RunSettings(from_scratch=False)
    assert run.deps == {"numpy": "2.0"}
    assert run.gpu_ids == []
    # timestamps: epoch in, aware datetimes in UTC out
    assert run.created_at == at(T0)
    assert run.started_at is None
    # last value per metric key, by step (not by arrival order)
    assert run.metrics == {"accuracy": 0.8, "loss": 0.5}
    assert run.artifacts == (RunArtifact(path="model.onnx", sha256="ab" * 32, size=1234,
                                         kind="model", step="export"),)
    assert [(s.name, s.idx, s.status, s.cached) for s in run.steps] == [
        ("split", 0, "completed", True), ("train", 1, "running", False)]
    assert run.steps[0].cache_key == "k0"
    assert run.steps[0].ended_at == at(T0 + 2)
    assert run.inputs == (RunInput(name="train", hash="cd" * 32, source="local",
                                   path="/data/train.csv"),)


def test_metric_series_is_ordered_by_step(store: Store) -> None:
    store.write([(None, full_batch("run-1"))])
    series = store.metric_series("run-1", "loss")
    assert [(p.key, p.step, p.value) for p in series] == [
        ("loss", 0, 0.9), ("loss", 1, 0.7), ("loss", 2, 0.5)]
    assert series[0].ts == at(T0 + 1)
    everything = store.metric_series("run-1")
    assert [p.key for p in everything] == ["accuracy", "loss", "loss", "loss"]
    assert store.metric_series("run-1", "nope") == []


def test_logs_in_order_and_after_a_cursor(store: Store) -> None:
    store.write([(None, full_batch("run-1"))])
    store.write([(None, [LogsWritten(run_id="run-1", lines=[[T0 + 9, "stdout", "done"]])])])
    lines = store.logs("run-1")
    assert [(x.stream, x.line) for x in lines] == [
        ("stdout", "epoch 1"), ("stderr", "warning: slow"), ("stdout", "done")]
    seqs = [x.seq for x in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [x.line for x in store.logs("run-1", after=seqs[1])] == ["done"]
    assert store.logs("run-1", limit=1)[0].line == "epoch 1"
    assert lines[0].ts == at(T0 + 1)


def test_params_and_audit_tables(store: Store) -> None:
    store.write([(None, full_batch("run-1"))])
    rows = store.cursor().execute(
        "SELECT key, value, num FROM params WHERE run_id = 'run-1' ORDER BY key").fetchall()
    assert rows == [("deep", "true", 1.0), ("lr", "0.1", 0.1), ("opt", '"adam"', None)]
    # a second params event replaces the first
    store.write([(None, [ParamsLogged(run_id="run-1", params={"lr": 0.2})])])
    assert store.count("params") == 1
    audit = store.cursor().execute("SELECT actor, action, target, detail FROM audit").fetchall()
    assert audit == [("ada", "run.create", "run-1", '{"why": "test"}')]


def test_counts(store: Store) -> None:
    store.write([(None, full_batch("run-1"))])
    assert store.count("runs") == 1
    assert store.count("metrics") == 4
    assert store.count("logs") == 2
    assert store.count("artifacts") == 1
    assert store.count("audit") == 1
    with pytest.raises(ValueError):
        store.count("runs; DROP TABLE runs")


def test_same_artifact_in_two_runs_is_stored_once(store: Store) -> None:
    store.write([(None, full_batch("run-1")), (None, full_batch("run-2"))])
    assert store.count("artifacts") == 1
    assert store.get_run("run-2").artifacts[0].sha256 == "ab" * 32


def test_step_event_replaces_the_previous_state(store: Store) -> None:
    store.write([(None, full_batch("run-1"))])
    store.write([(None, [StepFinished(run_id="run-1", name="train", idx=1, status="failed",
                                      error="boom", ended_at=T0 + 9)])])
    steps = store.get_run("run-1").steps
    assert [(s.name, s.status) for s in steps] == [("split", "completed"),
                                                         ("train", "failed")]
    assert steps[1].error == "boom"


def test_a_step_started_and_finished_in_one_batch_ends_finished(store: Store) -> None:
    store.write([(None, [run_created("run-1"),
                         StepStarted(run_id="run-1", name="train", idx=0, started_at=T0),
                         StepFinished(run_id="run-1", name="train", idx=0, status="finished",
                                      cached=False, started_at=T0, ended_at=T0 + 1)])])
    assert [(s.name, s.status) for s in store.get_run("run-1").steps] == [
        ("train", "finished")]


def test_list_runs_newest_first_with_metrics(store: Store) -> None:
    store.write([
        (None, [run_created("old", created_at=T0)]),
        (None, [run_created("new", created_at=T0 + 60, project="vision")]),
        (None, [MetricsLogged(run_id="old", points=[["acc", 0, T0, 0.5]])]),
    ])
    runs = store.list_runs()
    assert [r.id for r in runs] == ["new", "old"]
    assert runs[0].metrics == {}
    assert runs[1].metrics == {"acc": 0.5}
    assert runs[1].params is None
    assert [r.id for r in store.list_runs("r.project = ?", ["vision"])] == ["new"]
    assert len(store.list_runs(limit=1)) == 1
    projects = store.cursor().execute("SELECT name FROM projects ORDER BY name").fetchall()
    assert projects == [("default",), ("vision",)]


def test_list_runs_on_an_empty_store(store: Store) -> None:
    assert store.list_runs() == []


def test_active_runs(store: Store) -> None:
    store.write([(None, [run_created("a", status="queued"), run_created("b", status="running"),
                         run_created("c", status="completed")])])
    assert sorted(r.id for r in store.active_runs()) == ["a", "b"]


# idempotence and atomicity -------------------------------------------------------


def test_a_batch_id_written_twice_is_applied_once(store: Store) -> None:
    assert store.write([("batch-1", full_batch("run-1"))]) == [True]
    assert store.write([("batch-1", full_batch("run-1"))]) == [False]
    assert store.count("runs") == 1
    assert store.count("metrics") == 4
    assert store.count("logs") == 2


def test_duplicate_batch_ids_in_one_write(store: Store) -> None:
    metrics: list[Event] = [MetricsLogged(run_id="r", points=[["m", 0, T0, 1.0]])]
    fresh = store.write([("x", [run_created("r")]), ("y", metrics), ("y", metrics)])
    assert fresh == [True, True, False]
    assert store.count("metrics") == 1


def test_an_older_rows_resources_and_options_load_typed(store: Store) -> None:
    """A key an older row lacks takes its default, one this version does not know is
    ignored, and a row without them at all gets the defaults."""
    store.write([(None, [
        run_created("old", resources={"gpus": 1, "time_limit": 600, "shm_gb": 4},
                    options={"data": {"train": "/d/t.csv"}, "resumed_from": "x"}),
        run_created("bare"),
    ])])
    old = store.get_run("old")
    assert old.resources == RunResources(cpus=1.0, gpus=1.0, time_limit="600")
    assert old.options == RunSettings(data={"train": "/d/t.csv"})
    assert store.get_run("bare").resources == RunResources()
    listed = {r.id: r for r in store.active_runs()}  # a list of runs reads them the same way
    assert listed["old"].resources == old.resources and listed["bare"].options == RunSettings()


def test_batches_without_id_are_always_applied(store: Store) -> None:
    metrics: list[Event] = [MetricsLogged(run_id="r", points=[["m", 0, T0, 1.0]])]
    store.write([(None, metrics)])
    store.write([(None, metrics)])
    assert store.count("metrics") == 2


@pytest.mark.parametrize(
    "bad_event",
    [
        MetricsLogged(run_id="r2", points=[["m", 0, T0, "not a number"]]),
        StepFinished(run_id="r2", name="s", idx=None, status=None),  # type: ignore[arg-type]
        run_created("r1"),  # primary key violation
        RunCreated(run={"id": "r3"}),  # required fields missing
    ],
    ids=["bad-metric-value", "incomplete-step", "duplicate-run", "incomplete-run"],
)
def test_a_bad_event_rolls_back_the_whole_write(store: Store, bad_event: Event) -> None:
    store.write([("good", [run_created("r1")])])
    batch: list[Event] = [
        run_created("r2"),
        LogsWritten(run_id="r2", lines=[[T0, "stdout", "hello"]]),
        MetricsLogged(run_id="r2", points=[["ok", 0, T0, 1.0]]),
        bad_event,
    ]
    with pytest.raises(StoreError) as info:
        store.write([("other", [run_created("r4")]), ("bad", batch)])
    assert "write failed" in info.value.message
    # nothing of the failed transaction is visible, not even the innocent batch
    assert [r.id for r in store.list_runs()] == ["r1"]
    assert store.count("metrics") == 0 and store.count("logs") == 0
    assert store.cursor().execute(
        "SELECT batch_id FROM applied_batches ORDER BY batch_id").fetchall() == [("good",)]
    # the store still works, and the failed batch ids can be retried
    assert store.write([("bad", [run_created("r2")]), ("other", [run_created("r4")])]) == [
        True, True]
    assert sorted(r.id for r in store.list_runs()) == ["r1", "r2", "r4"]


# run updates -----------------------------------------------------------------------


def test_run_update_sets_fields(store: Store) -> None:
    store.write([(None, [run_created("r1")])])
    store.write([(None, [RunUpdated(run_id="r1", fields={
        "status": "running", "started_at": T0 + 10, "pid": 77, "gpu_ids": [0],
        "not_a_column": "ignored",
    })])])
    run = store.get_run("r1")
    assert run.status == "running"
    assert run.started_at == at(T0 + 10)
    assert run.pid == 77
    assert run.gpu_ids == [0]


def test_run_update_with_only_if_status_keeps_a_final_status(store: Store) -> None:
    store.write([(None, [run_created("r1", status="running")])])
    store.write([(None, [RunUpdated(run_id="r1", fields={
        "status": "completed", "ended_at": T0 + 20})])])
    late = RunUpdated(run_id="r1", only_if_status=["queued", "running"],
                      fields={"status": "failed", "error": "lost", "ended_at": T0 + 99})
    store.write([(None, [late])])
    run = store.get_run("r1")
    assert run.status == "completed"
    assert run.error is None
    assert run.ended_at == at(T0 + 20)


def test_run_update_with_only_if_status_applies_when_it_matches(store: Store) -> None:
    store.write([(None, [run_created("r1", status="running"), run_created("r2")])])
    update = RunUpdated(run_id="r1", only_if_status=["queued", "running"],
                        fields={"status": "failed", "error": "lost"})
    store.write([(None, [update])])
    assert store.get_run("r1").status == "failed"
    assert store.get_run("r1").error == "lost"
    assert store.get_run("r2").status == "queued"  # other runs untouched


def test_run_update_in_the_same_batch_as_creation(store: Store) -> None:
    # events are applied by type: RunCreated before RunUpdated, whatever the list order
    update = RunUpdated(run_id="r1", fields={"status": "running"})
    store.write([(None, [update, run_created("r1")])])
    assert store.get_run("r1").status == "running"


# run id lookup ----------------------------------------------------------------------


def test_run_lookup_by_prefix_and_suffix(store: Store) -> None:
    store.write([(None, [run_created("20240101-abcd1234"), run_created("20240102-ef567890")])])
    assert store.get_run("20240101-abcd1234").id == "20240101-abcd1234"
    assert store.get_run("20240101").id == "20240101-abcd1234"
    assert store.get_run("ef567890").id == "20240102-ef567890"
    assert store.get_run("890").id == "20240102-ef567890"


def test_ambiguous_run_id(store: Store) -> None:
    store.write([(None, [run_created("20240101-abcd1234"), run_created("20240102-ef567890")])])
    with pytest.raises(NotFound) as info:
        store.get_run("2024")
    assert "ambiguous" in info.value.message
    assert info.value.hint.startswith("give more characters")


def test_exact_id_wins_over_a_prefix_match(store: Store) -> None:
    store.write([(None, [run_created("abc"), run_created("abcdef")])])
    assert store.get_run("abc").id == "abc"


def test_unknown_run_id(store: Store) -> None:
    store.write([(None, [run_created("r1")])])
    with pytest.raises(NotFound) as info:
        store.get_run("zzz")
    assert "zzz" in info.value.message
    assert "mlopslab runs ls" in (info.value.hint or "")


# one writer process ---------------------------------------------------------------


def test_a_second_process_cannot_open_an_open_store(store: Store, db_path: Path) -> None:
    code = (
        "import sys\n"
        "from mlopslab.core.errors import StoreError\n"
        "from mlopslab.store.db import Store\n"
        "try:\n"
        f"    Store({str(db_path)!r})\n"
        "except StoreError as e:\n"
        "    print(e.message)\n"
        "    print('HINT', e.hint)\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 3, result.stderr
    assert str(db_path) in result.stdout
    assert "HINT another process holds it" in result.stdout
    # the first store is unaffected
    store.write([(None, [run_created("r1")])])
    assert store.get_run("r1").id == "r1"
