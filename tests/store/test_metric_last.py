"""metric_last, the table of each run's last metric values kept as points are written
(migration 14; it was a view aggregating every point): the same answers as the view."""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlopslab.core.events import MetricsLogged, RunCreated
from mlopslab.core.filters import parse_filter, parse_sort
from mlopslab.store.db import Store
from mlopslab.store.filter_sql import compile_filter, compile_sort
from mlopslab.store.migrations import MIGRATIONS

T0 = 1_700_000_000.0
OLD_VIEW = ("SELECT run_id, key, arg_max(value, step) AS value, max(step) AS step, count(*) AS n "
            "FROM metrics GROUP BY run_id, key")


def created(run_id: str, i: int = 0) -> RunCreated:
    return RunCreated(run={"id": run_id, "project": "p", "recipe": "r", "recipe_path": "/r",
                           "status": "finished", "user_name": "ada", "created_at": T0 + i})


def points(run_id: str, *pts: tuple[str, int, float | None]) -> MetricsLogged:
    return MetricsLogged(run_id=run_id, points=[(k, s, T0 + s, v) for k, s, v in pts])


def last(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = store.cursor().execute("SELECT run_id, key, value, step, n FROM metric_last").fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_the_value_at_the_highest_step_wins_whatever_order_steps_come_in(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([("a", [created("r1"), points("r1", ("loss", 5, 0.5), ("loss", 7, 0.3))])])
    store.write([("b", [points("r1", ("loss", 2, 9.0), ("loss", 6, 8.0))])])
    assert last(store)[("r1", "loss")] == (0.3, 7, 4)
    assert store.get_run("r1").metrics == {"loss": 0.3}


def test_equal_steps_take_the_later_point(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([("a", [created("r1"), points("r1", ("acc", 1, 0.1), ("acc", 1, 0.2))])])
    assert last(store)[("r1", "acc")] == (0.2, 1, 2)
    store.write([("b", [points("r1", ("acc", 1, 0.4))]), ("c", [points("r1", ("acc", 0, 0.9))])])
    assert last(store)[("r1", "acc")] == (0.4, 1, 4)


def test_missing_values_are_skipped_as_the_view_skipped_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.write([("a", [created("r1"), points("r1", ("acc", 1, 0.5), ("x", 0, None))])])
    store.write([("b", [points("r1", ("acc", 2, None))])])
    assert last(store) == {("r1", "acc"): (0.5, 2, 2), ("r1", "x"): (None, 0, 1)}
    store.write([("c", [points("r1", ("x", 0, 3.0))])])
    assert last(store)[("r1", "x")] == (3.0, 0, 2)


def test_a_batch_delivered_twice_counts_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    batch = [created("r1"), points("r1", ("loss", 0, 1.0), ("loss", 1, 0.5))]
    assert store.write([("a", batch), ("a", batch)]) == [True, False]
    assert store.write([("a", batch)]) == [False]
    assert last(store)[("r1", "loss")] == (0.5, 1, 2)


def test_the_migration_fills_the_table_from_an_older_stores_points(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP)")
    for version, name, sql in MIGRATIONS[:13]:
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    con.execute("INSERT INTO metrics VALUES ('r1', 'loss', 3, now(), 0.3), ('r1', 'loss', 1, now(), 0.9), "
                "('r1', 'loss', 3, now(), 0.2), ('r1', 'acc', 0, now(), NULL), ('r2', 'acc', 4, now(), 'nan')")
    con.close()
    store = Store(path)
    found = last(store)
    assert found[("r1", "loss")] == (0.2, 3, 3)  # equal steps: the later point
    assert found[("r1", "acc")] == (None, 0, 1)
    assert math.isnan(found[("r2", "acc")][0])
    store.write([("a", [points("r1", ("loss", 4, 0.1))])])
    assert last(store)[("r1", "loss")] == (0.1, 4, 4)


value = st.one_of(st.none(), st.floats(-2, 2, allow_nan=False), st.just(math.nan))
batch = st.lists(st.tuples(st.sampled_from(["r0", "r1", "r2", "r3"]), st.sampled_from(["acc", "loss"]),
                           st.integers(0, 40), value), max_size=12)
FILTERS = ["metrics.acc > 0", "metrics.loss <= 0.5 or metrics.acc is null", "not metrics.acc < 1"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch, max_size=5), filter_=st.sampled_from(FILTERS),
       sort=st.sampled_from(["metrics.loss", "-metrics.acc"]))
def test_filters_and_sorts_answer_as_the_view_did(tmp_path: Path, batches: list[list[Any]],
                                                  filter_: str, sort: str) -> None:
    store = Store(tmp_path / f"h{uuid.uuid4().hex}.duckdb")  # hypothesis replays examples: a fresh store each
    try:
        store.write([(None, [created(f"r{i}", i) for i in range(4)])])
        seen: set[tuple[str, str, int]] = set()
        for i, pts in enumerate(batches):  # one point per run, key and step: the view broke ties anyhow
            fresh = []
            for p in pts:  # also within a batch: two points of one step would tie
                if (p[0], p[1], p[2]) not in seen:
                    seen.add((p[0], p[1], p[2]))
                    fresh.append(p)
            store.write([(f"b{i}", [MetricsLogged(run_id=r, points=[(k, s, T0, v)]) for r, k, s, v in fresh])])
        view = {(r[0], r[1]): r[2:] for r in store.cursor().execute(OLD_VIEW).fetchall()}
        assert _same(last(store), view)
        where, args = compile_filter(parse_filter(filter_))
        order, order_args = compile_sort(parse_sort(sort))
        ours = [r.id for r in store.list_runs(where, args, order, order_args)]
        old = f"(SELECT * FROM ({OLD_VIEW}))"
        sql = (f"SELECT r.id FROM runs r WHERE {where.replace('metric_last', old)} "  # noqa: S608
               f"ORDER BY {order.replace('metric_last', old)}, r.id LIMIT 50")
        assert ours == [r[0] for r in store.cursor().execute(sql, [*args, *order_args]).fetchall()]
    finally:
        store.close()


def _same(a: dict[Any, tuple[Any, ...]], b: dict[Any, tuple[Any, ...]]) -> bool:
    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)
    return {k: key(v) for k, v in a.items()} == {k: key(v) for k, v in b.items()}
