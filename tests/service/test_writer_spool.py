"""Tests of group commit (mlopslab.service.writer) and the write spool (mlopslab.spool)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlopslab.core.errors import StoreError
from mlopslab.core.events import Event, LogsWritten, MetricsLogged, RunCreated
from mlopslab.service.writer import GroupWriter
from mlopslab.spool import spool_batch, spooled
from mlopslab.store.db import Store

T0 = 1_700_000_000.0
T0_NS = int(T0 * 1_000_000_000)


def run_created(run_id: str) -> RunCreated:
    return RunCreated(run={
        "id": run_id, "project": "p", "recipe": "r", "recipe_path": "/r", "status": "running",
        "user_name": "u", "created_at": T0,
    })


def metrics(run_id: str, step: int, n: int = 1) -> MetricsLogged:
    return MetricsLogged(run_id=run_id,
                         points=[[f"m{i}", step, T0 + step, float(step)] for i in range(n)])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "lab.duckdb")
    yield s
    s.close()


@pytest.fixture
def writer(store: Store) -> Iterator[GroupWriter]:
    w = GroupWriter(store)
    w.start()
    yield w
    w.stop()


# group commit --------------------------------------------------------------------


def test_concurrent_writers_all_acknowledged_batches_are_stored(
    store: Store, writer: GroupWriter
) -> None:
    threads, per_thread = 8, 40
    writer.write("create", [run_created(f"run-{t}") for t in range(threads)])
    acked: dict[int, list[str]] = {t: [] for t in range(threads)}
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        try:
            start.wait()
            for step in range(per_thread):
                batch_id = f"t{t}-s{step}"
                if writer.write(batch_id, [metrics(f"run-{t}", step, n=3)]):
                    acked[t].append(batch_id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    assert all(len(ids) == per_thread for ids in acked.values())

    batches = 1 + threads * per_thread
    applied = {row[0] for row in store.cursor().execute(
        "SELECT batch_id FROM applied_batches").fetchall()}
    assert applied == {"create"} | {b for ids in acked.values() for b in ids}
    for t in range(threads):
        series = store.metric_series(f"run-{t}", "m0")
        assert [p.step for p in series] == list(range(per_thread))
    assert store.count("metrics") == threads * per_thread * 3
    # writers that arrived while a transaction committed shared the next one
    assert writer.commits < batches, (writer.commits, batches)


def test_batches_queued_before_start_share_one_commit(store: Store) -> None:
    writer = GroupWriter(store)
    futures = [writer.submit(f"b{i}", [metrics("r", i)]) for i in range(50)]
    writer.start()
    try:
        assert [f.result(timeout=10) for f in futures] == [True] * 50
        assert writer.commits == 1
        assert store.count("metrics") == 50
    finally:
        writer.stop()


def test_max_rows_splits_a_burst_into_several_commits(store: Store) -> None:
    writer = GroupWriter(store, max_rows=10)
    # each batch: 4 points + 1 event = 5 rows, so two batches fill a transaction
    futures = [writer.submit(None, [metrics("r", i, n=4)]) for i in range(6)]
    writer.start()
    try:
        assert all(f.result(timeout=10) for f in futures)
        assert writer.commits == 3
        assert store.count("metrics") == 24
    finally:
        writer.stop()


def test_a_replayed_batch_is_acknowledged_as_not_new(writer: GroupWriter, store: Store) -> None:
    assert writer.write("b1", [metrics("r", 0)]) is True
    assert writer.write("b1", [metrics("r", 0)]) is False
    assert store.count("metrics") == 1


def test_a_failed_commit_reaches_the_waiter_and_the_writer_goes_on(
    writer: GroupWriter, store: Store
) -> None:
    bad = MetricsLogged(run_id="r", points=[["m", 0, T0, "NaN?"]])
    with pytest.raises(StoreError):
        writer.write("bad", [bad])
    assert writer.write("good", [metrics("r", 1)]) is True
    assert store.count("metrics") == 1


def test_stop_commits_what_is_queued(store: Store) -> None:
    writer = GroupWriter(store)
    futures = [writer.submit(None, [metrics("r", i)]) for i in range(5)]
    writer.start()
    writer.stop()
    assert all(f.done() and f.result() for f in futures)
    assert store.count("metrics") == 5


# spool ---------------------------------------------------------------------------


def test_spool_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    events: list[Event] = [run_created("r1"), metrics("r1", 0, n=2),
                           LogsWritten(run_id="r1", lines=[[T0, "stdout", "héllo \u2603"]])]
    path = spool_batch(folder, "batch-1", events)
    assert path == folder / "batch-1.json"
    assert [(p, b, e) for p, b, e in spooled(folder)] == [(path, "batch-1", events)]
    assert not list(folder.glob(".*.tmp"))  # the temporary file was renamed


def test_spooled_is_oldest_first(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    for i, name in enumerate(["c", "a", "b"]):
        path = spool_batch(folder, name, [metrics("r", i)])
        os.utime(path, ns=(T0_NS + i * 1_000_000_000, T0_NS + i * 1_000_000_000))
    assert [batch_id for _, batch_id, _ in spooled(folder)] == ["c", "a", "b"]


def test_a_half_written_temp_file_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool_batch(folder, "done", [metrics("r", 0)])
    (folder / ".partial.tmp").write_text('{"batch_id": "partial", "events": [')
    assert [batch_id for _, batch_id, _ in spooled(folder)] == ["done"]


def test_a_corrupt_spool_file_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool_batch(folder, "done", [metrics("r", 0)])
    (folder / "torn.json").write_text('{"batch_id": "torn", "ev')
    assert [batch_id for _, batch_id, _ in spooled(folder)] == ["done"]


def test_a_spool_file_of_an_older_version_reads(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    old = Path(__file__).parents[1] / "core" / "wire" / "spooled_step_output.json"
    (folder / old.name).write_text(old.read_text())  # written by mlopslab d097ee6
    [(_, batch_id, events)] = list(spooled(folder))
    assert batch_id == "6cb6229ce8bb46238699d25b6b83da3a"
    assert [type(e).__name__ for e in events] == ["MetricsLogged", "LogsWritten", "ArtifactRecorded"]


def test_a_spool_file_with_an_unknown_kind_stays_for_a_newer_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "spool"
    spool_batch(folder, "done", [metrics("r", 0)])
    (folder / "newer.json").write_text('{"batch_id": "newer", "events": [{"kind": "telemetry"}]}')
    assert [batch_id for _, batch_id, _ in spooled(folder)] == ["done"]
    assert (folder / "newer.json").exists()
    assert "newer.json left for later: unknown event kind 'telemetry'" in capsys.readouterr().err


def test_spooled_on_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list(spooled(tmp_path / "nothing")) == []


def test_spooled_batches_replay_into_the_store_once(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "spool"
    spool_batch(folder, "b1", [run_created("r1"), metrics("r1", 0)])
    spool_batch(folder, "b2", [metrics("r1", 1)])
    # the service ingests the spool; the first ack was lost, so it ingests it again
    for _ in range(2):
        store.write([(batch_id, events) for _, batch_id, events in spooled(folder)])
    assert store.count("runs") == 1
    assert [p.step for p in store.metric_series("r1")] == [0, 1]
