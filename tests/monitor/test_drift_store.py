"""The pieces of drift collection: the model server's sample ring, the store's tables
(migration 9, store/drift_writes.py) and the DuckDB bin counts, which must equal the
numpy binning the reference was profiled with."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlopslab.core.drift import DriftPolicy, counts_of, profile
from mlopslab.core.monitor_events import DriftSampled
from mlopslab.serving.sampling import InputSampler
from mlopslab.store import drift_queries as q
from mlopslab.store.db import Store


def test_the_ring_keeps_the_latest_rows_numbered_and_counts_what_it_dropped() -> None:
    s = InputSampler("input", rate=1.0, capacity=5)
    for start in range(0, 12, 3):
        s.observe({"input": np.arange(start, start + 3, dtype=np.float32).reshape(3, 1)})
    got = s.after(0)
    assert (got["first_seq"], got["last_seq"], got["dropped"], got["sampled"]) == (8, 12, 7, 12)
    assert got["rows"].ravel().tolist() == [7, 8, 9, 10, 11]
    assert s.after(10)["rows"].ravel().tolist() == [10, 11] and s.after(10)["dropped"] == 0
    assert s.after(12)["rows"].shape[0] == 0
    assert s.after(0, limit=2)["rows"].ravel().tolist() == [7, 8]


def test_a_rate_keeps_about_that_share_and_other_inputs_are_ignored() -> None:
    s = InputSampler("input", rate=0.25, capacity=100_000, seed=1)
    for _ in range(100):
        s.observe({"input": np.ones((100, 3)), "other": np.ones((100, 9))})
    s.observe({"input": np.ones(4)})  # not 2-D: not sampled
    assert s.seen == 10_000 and 2200 < s.seq < 2800
    assert s.after(0)["columns"] == 3


def test_sql_bin_counts_equal_the_numpy_binning(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    train = np.column_stack([rng.normal(size=20_000), rng.lognormal(size=20_000),
                             rng.integers(0, 4, 20_000)]).astype(np.float64)
    refs = profile({"a": train[:, 0], "b": train[:, 1], "c": train[:, 2]}, DriftPolicy())
    assert refs[1].shift is not None and refs[2].kind == "categorical"
    served = np.column_stack([rng.normal(size=2500) * 1.5, rng.lognormal(size=2500) + 1,
                              rng.integers(0, 6, 2500)]).astype(np.float64)
    served[0, 0] = np.nan
    store = Store(tmp_path / "lab.duckdb")
    try:
        store.write([(None, [DriftSampled(ts=1.0, deployment="d", version="1", instance="i", seq=1500,
                                          first_row=0, rows=served[:1500].tolist()),
                             DriftSampled(ts=2.0, deployment="d", version="1", instance="i", seq=2500,
                                          first_row=1500, rows=served[1500:].tolist(), dropped=3)])])
        assert q.next_row(store, "d", "1") == 2500
        assert q.collected(store, "d", "1") == (2500, 3)
        assert q.cursors(store) == {("d", "1", "i"): 2500}
        got = q.window_counts(store, "d", "1", 0, 2, 1000, refs)
        for w in range(2):
            want = counts_of(refs, served[w * 1000:(w + 1) * 1000])[0]
            np.testing.assert_array_equal(got[w], want)
    finally:
        store.close()


def test_a_runs_declared_inputs_are_read_back_for_its_training_profile(tmp_path: Path) -> None:
    """A version registered from a recipe run is profiled from the run's inputs."""
    from mlopslab.core.events import DatasetVersioned

    store = Store(tmp_path / "lab.duckdb")
    try:
        store.write([(None, [DatasetVersioned(run_id="r1", name="train", hash="md5:abc", source="dvc",
                                              path="/data/train.csv", size=10, ts=1.0)])])
        assert q.run_inputs(store, "r1") == [("train", "md5:abc", "/data/train.csv")]
    finally:
        store.close()
