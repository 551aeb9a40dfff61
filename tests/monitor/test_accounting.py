"""GPU use attribution, cost and alert bookkeeping: the numbers a user reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlopslab.core.alerts import Alert, Condition, reconcile
from mlopslab.core.cost import Holding, Rates, Use, split_by_day, tally
from mlopslab.core.gpu_usage import attribute, interval
from mlopslab.core.gpus import GpuDevice, GpuOwner, GpuProcess, GpuSnapshot
from mlopslab.core.monitor_events import AlertRaised, AlertResolved, AlertSeen

GIB = 1024**3
RUN_A, RUN_B = GpuOwner("run", "a"), GpuOwner("run", "b")
RATES = Rates(gpu_hourly={"H100": 3.0, "A100": 2.0, "A10": 1.0}, cpu_hourly=0.1,
              memory_gb_hourly=0.01, energy_kwh=0.2)


def device(index: int, util: float, procs: list[tuple[int, int]], power: float | None = 300.0,
           name: str = "NVIDIA H100 80GB HBM3") -> GpuDevice:
    return GpuDevice(index=index, uuid=f"GPU-{index}", name=name, utilization_pct=util,
                     memory_used=sum(m for _, m in procs), memory_total=80 * GIB, power_w=power,
                     processes=tuple(GpuProcess(p, m) for p, m in procs))


def test_a_shared_gpu_is_split_by_memory_and_an_unknown_process_keeps_its_share() -> None:
    snap = GpuSnapshot(0.0, "test", (device(0, 80.0, [(1, 3 * GIB), (2, 1 * GIB), (3, 4 * GIB)]),))
    shares = {s.owner: s for s in attribute(snap, {1: RUN_A, 2: RUN_B}, seconds=10.0)}
    assert shares[RUN_A].share == pytest.approx(3 / 8)
    assert shares[RUN_A].busy_s == pytest.approx(0.8 * 10 * 3 / 8)
    assert shares[RUN_B].energy_j == pytest.approx(300 * 10 * 1 / 8)
    assert sum(s.busy_s for s in shares.values()) < 0.8 * 10  # pid 3 (no owner) kept its part


def test_two_processes_of_one_run_add_up_and_no_memory_reading_splits_equally() -> None:
    snap = GpuSnapshot(0.0, "test", (device(0, 50.0, [(1, 0), (2, 0), (3, 0), (4, 0)]),))
    shares = attribute(snap, {1: RUN_A, 2: RUN_A, 3: RUN_B}, seconds=4.0)
    by = {s.owner: s for s in shares}
    assert by[RUN_A].share == pytest.approx(0.5) and by[RUN_B].share == pytest.approx(0.25)
    assert by[RUN_A].busy_s == pytest.approx(0.5 * 4 * 0.5)


def test_a_gap_in_readings_counts_one_interval_not_the_gap() -> None:
    assert interval(None, 100.0, 1.0) == 1.0
    assert interval(100.0, 101.2, 1.0) == pytest.approx(1.2)
    assert interval(100.0, 400.0, 1.0) == 1.0  # the service was down for 5 minutes
    assert interval(100.0, 99.0, 1.0) == 0.0  # the clock stepped back


def test_gpu_rates_match_nvml_names_by_the_longest_key() -> None:
    assert RATES.gpu_rate("NVIDIA A100-SXM4-80GB") == 2.0
    assert RATES.gpu_rate("NVIDIA A10G") == 1.0
    assert RATES.gpu_rate("scripted") is None and RATES.gpu_rate(None) is None


def hold(run: str, start: float, end: float, gpus: float = 1, model: str | None = "H100",
         project: str = "p", user: str = "u") -> Holding:
    return Holding("run", run, project, user, start, end, gpus, cpus=2, memory_gb=10,
                   gpu_model=model)


def test_held_busy_idle_and_energy_cost_of_two_runs_on_two_gpus() -> None:
    day = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    holdings = [hold("a", day + 3600, day + 7200), hold("b", day + 3600, day + 7200)]
    uses = [Use("run", "a", "2026-12-01", "NVIDIA H100", 0.9 * 3600, 500 * 3600, GIB),
            Use("run", "b", "2026-12-01", "NVIDIA H100", 0.05 * 3600, 100 * 3600, GIB)]
    lines = {c.key: c for c in tally(RATES, "run", holdings, uses)}
    a, b = lines["a"], lines["b"]
    assert a.gpu_hours_allocated == pytest.approx(1.0) and a.gpu_hours_busy == pytest.approx(0.9)
    assert b.busy_pct == pytest.approx(5.0)
    other = 2 * 0.1 + 10 * 0.01  # cpus and memory for one hour
    assert a.energy_kwh == pytest.approx(0.5) and a.energy_cost == pytest.approx(0.1)
    assert a.cost_allocated == pytest.approx(3.0 + other + 0.1)
    assert a.cost_used == pytest.approx(0.9 * 3.0 + other + 0.1)
    assert b.idle_waste == pytest.approx(0.95 * 3.0)
    by_project = tally(RATES, "project", holdings, uses)
    assert len(by_project) == 1
    assert by_project[0].idle_waste == pytest.approx(0.1 * 3.0 + 0.95 * 3.0)


def test_one_runs_busy_hours_never_hide_another_runs_idle_ones() -> None:
    day = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    holdings = [hold("idle", day, day + 3600)]
    uses = [Use("deployment", "web", "2026-12-01", "NVIDIA H100", 3600, 0, 0)]
    project = tally(RATES, "user", holdings, uses)
    idle = next(c for c in project if c.key == "u")
    assert idle.idle_waste == pytest.approx(3.0)


def test_unpriced_gpus_are_counted_as_unpriced_never_as_free() -> None:
    day = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    line, = tally(RATES, "run", [hold("a", day, day + 7200, gpus=2, model=None)], [])
    assert line.unpriced_gpu_hours == pytest.approx(4.0)
    assert line.unmeasured_gpu_hours == pytest.approx(4.0)
    assert line.busy_pct is None and line.idle_gpu_hours == 0.0  # not read is not idle
    assert line.cost_allocated == pytest.approx(2 * (2 * 0.1 + 10 * 0.01))  # CPU + memory only
    assert line.idle_waste == 0.0


def test_a_run_over_midnight_is_split_into_two_days_and_since_clips_it() -> None:
    midnight = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    assert split_by_day(midnight - 1800, midnight + 3600) == [("2026-12-01", 1800.0),
                                                              ("2026-12-02", 3600.0)]
    days = {c.key: c for c in tally(RATES, "day", [hold("a", midnight - 1800, midnight + 3600)], [])}
    assert days["2026-12-01"].gpu_hours_allocated == pytest.approx(0.5)
    assert days["2026-12-02"].gpu_hours_allocated == pytest.approx(1.0)
    clipped, = tally(RATES, "run", [hold("a", midnight - 1800, midnight + 3600)], [],
                     since=midnight)
    assert clipped.gpu_hours_allocated == pytest.approx(1.0)


def alert(rule: str, subject: str, status: str = "open", sticky: bool = False) -> Alert:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Alert(id=f"al-{subject}", rule=rule, subject=subject, severity="warning", status=status,
                 message="", detail={}, sticky=sticky, first_seen=now, last_seen=now, count=1,
                 acked_at=None, acked_by=None, resolved_at=None)


def test_a_condition_that_holds_on_every_tick_raises_one_alert() -> None:
    c = Condition("idle_gpu", "run:a", "warning", "idle")
    first = reconcile([], [c, c], ts=1.0)
    assert [type(e) for e in first] == [AlertRaised]
    again = reconcile([alert("idle_gpu", "run:a")], [c], ts=2.0)
    assert [type(e) for e in again] == [AlertSeen]
    acked = reconcile([alert("idle_gpu", "run:a", status="acked")], [c], ts=3.0)
    assert [type(e) for e in acked] == [AlertSeen]


def test_an_alert_resolves_when_its_condition_clears_but_a_sticky_one_stays() -> None:
    events = reconcile([alert("idle_gpu", "run:a"), alert("run_lost", "run:b", sticky=True)], [],
                       ts=2.0)
    assert [(type(e), e.id) for e in events] == [(AlertResolved, "al-run:a")]
    lost = Condition("run_lost", "run:b", "critical", "gone", sticky=True)
    assert reconcile([alert("run_lost", "run:b", status="resolved", sticky=True)], [lost], 3.0) == []
