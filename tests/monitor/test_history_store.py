"""GPU history in the real store: readings, rollups that move rows, use per owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.core.monitor_events import GpuHistoryCompacted, GpuSampled
from mlopslab.store import monitor_queries as q
from mlopslab.store.db import Store

T0 = 1_764_547_200.0  # 2025-12-01 00:00 UTC


def sample(ts: float, util: float, busy_owner: str = "a") -> GpuSampled:
    device = [0, "GPU-0", "NVIDIA H100", util, 10, 100, 200.0, 50.0, 1.0]
    usage = [0, "NVIDIA H100", "run", busy_owner, 1.0, util / 100.0, 200.0, 10]
    return GpuSampled(ts=ts, devices=[device], usage=[usage])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "lab.duckdb")


def test_compaction_moves_readings_into_rollups_and_counts_each_once(store: Store) -> None:
    events = [sample(T0 + i, 90.0 if i < 120 else 10.0) for i in range(180)]  # 3 minutes at 1 Hz
    store.write([(None, events)])
    before = q.owner_use(store, "run", ["a"])["a"]
    assert before.busy_gpu_s == pytest.approx(120 * 0.9 + 60 * 0.1)
    store.write([(None, [GpuHistoryCompacted(minute_before=T0 + 150, hour_before=T0)])])
    raw = store.cursor().execute("SELECT count(*) FROM gpu_samples").fetchone()
    assert raw == (60,)  # the third minute is still raw: its bucket is not over
    after = q.owner_use(store, "run", ["a"])["a"]
    assert after.busy_gpu_s == pytest.approx(before.busy_gpu_s)
    assert after.energy_j == pytest.approx(180 * 200.0)
    history = q.gpu_history(store, since=T0)
    assert [round(p.utilization_pct or 0) for p in history[:2]] == [90, 90]
    assert history[0].seconds == pytest.approx(60.0) and len(history) == 2 + 60


def test_hour_rollups_keep_time_weighted_averages_and_energy(store: Store) -> None:
    store.write([(None, [sample(T0 + i, 100.0 if i < 1800 else 0.0) for i in range(3600)])])
    store.write([(None, [GpuHistoryCompacted(minute_before=T0 + 7200, hour_before=T0 + 7200)])])
    points = q.gpu_history(store, since=T0)
    assert len(points) == 1 and points[0].seconds == pytest.approx(3600)
    assert points[0].utilization_pct == pytest.approx(50.0)
    use = q.owner_use(store, "run", ["a"])["a"]
    assert use.busy_gpu_s == pytest.approx(1800.0) and use.energy_j == pytest.approx(720_000.0)
    day, = q.uses(store, None, None)
    assert (day.day, day.busy_gpu_s) == ("2025-12-01", pytest.approx(1800.0))


def test_retention_drops_old_history(store: Store) -> None:
    store.write([(None, [sample(T0 + i, 50.0) for i in range(120)])])
    store.write([(None, [GpuHistoryCompacted(minute_before=T0 + 600, hour_before=T0 + 600,
                                             drop_before=T0 + 7200)])])
    assert q.gpu_history(store, since=0) == []
    assert q.owner_use(store, "run", ["a"]) == {}
