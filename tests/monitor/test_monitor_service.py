"""The monitor inside a real lab service, fed by a replayed 2-GPU trace whose processes
are the real step workers of real runs on the session's Ray cluster."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import LabClient
from mlopslab.core.alerts import Alert
from mlopslab.lab import Lab
from tests.conftest import configure
from tests.exec.test_queue import sleeper, submit, wait_for_worker, wait_status

pytestmark = pytest.mark.ray

GIB = 1024**3
H100 = "NVIDIA H100 80GB HBM3"


def two_gpu_trace(path: Path, busy: dict[int, tuple[int, float, float]]) -> None:
    """A replay of two H100s: device index -> (pid on it, utilization %, power W)."""
    devices = []
    for index in (0, 1):
        pid, util, power = busy.get(index, (0, 0.0, 60.0))
        procs = [{"pid": pid, "used_memory": 2 * GIB}] if pid else []
        devices.append({"index": index, "uuid": f"GPU-{index}", "name": H100,
                        "utilization_pct": util, "memory_used": 2 * GIB if pid else 0,
                        "memory_total": 80 * GIB, "power_w": power, "processes": procs})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"t": 0, "devices": devices}) + "\n")
    tmp.replace(path)


def until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def monitored(lab: Lab, replay: Path, **sections: dict[str, Any]) -> Lab:
    return configure(lab, gpu={"source": f"replay:{replay}"},
                     monitor={"interval_s": 0.2, "process_interval_s": 0.2, "alerts_interval_s": 0.3,
                              "idle_gpu_after": "2s", "idle_gpu_pct": 10.0,
                              **sections.pop("monitor", {})}, **sections)


def open_alerts(client: LabClient, rule: str) -> list[Alert]:
    return [a for a in client.monitor.alerts() if a.rule == rule]


def test_busy_and_held_gpu_seconds_energy_cost_and_idle_alert_of_two_runs(
        lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    two_gpu_trace(replay, {})
    lab = monitored(lab, replay)
    recipe = sleeper(tmp_path / "sleeper")
    busy_run = submit(lab, recipe, "--gpus", "1", "--set", "seconds=60")
    idle_run = submit(lab, recipe, "--gpus", "1", "--set", "seconds=60")
    workers = {r: wait_for_worker(lab, r) for r in (busy_run, idle_run)}
    two_gpu_trace(replay, {0: (workers[busy_run], 90.0, 400.0), 1: (workers[idle_run], 5.0, 100.0)})
    with LabClient(lab) as client:
        # a window after the trace changed, only the run at 5% is idle (the busy one's
        # alert, from before its process showed on the GPU, resolved itself)
        until(lambda: [a.subject for a in open_alerts(client, "idle_gpu")] == [f"run:{idle_run}"],
              timeout=20)
        time.sleep(2.5)
        assert [a.subject for a in open_alerts(client, "idle_gpu")] == [f"run:{idle_run}"]
        time.sleep(1.0)
        client.runs.cancel(busy_run)
        client.runs.cancel(idle_run)
        time.sleep(0.6)  # readings in flight are committed
        use = {u.id: u for u in client.monitor.gpu_use([busy_run, idle_run])}
        for run_id, util, watts in ((busy_run, 0.9, 400.0), (idle_run, 0.05, 100.0)):
            u = use[run_id]
            assert u.seconds > 1.5
            assert u.busy_gpu_s == pytest.approx(util * u.seconds, rel=1e-6)
            assert u.energy_j == pytest.approx(watts * u.seconds, rel=1e-6)
            assert u.peak_memory == 2 * GIB
        lines = {c.key: c for c in client.monitor.cost(by="run").lines}
        rates = lab.config.cost
        for run_id in (busy_run, idle_run):
            line, u = lines[run_id], use[run_id]
            run = client.runs.get(run_id)
            assert run.started_at and run.ended_at
            held_h = (run.ended_at - run.started_at).total_seconds() / 3600
            assert line.gpu_hours_allocated == pytest.approx(held_h, rel=1e-3)
            assert line.gpu_hours_busy == pytest.approx(u.busy_gpu_s / 3600, rel=1e-6)
            assert line.energy_cost == pytest.approx(u.energy_j / 3.6e6 * rates.energy_kwh, rel=1e-6)
            gpu_rate = rates.gpu_hourly["H100"]
            assert line.idle_waste == pytest.approx((held_h - u.busy_gpu_s / 3600) * gpu_rate, rel=1e-3)
            assert line.unpriced_gpu_hours == 0
        # the idle run ended: its alert resolves itself
        until(lambda: not open_alerts(client, "idle_gpu"), timeout=10)
        history = client.monitor.gpu_history(since=time.time() - 300)
        assert {p.device for p in history} == {0, 1}
        assert {round(p.utilization_pct or 0) for p in history if p.device == 0} >= {90}


def test_a_budget_crossing_raises_one_alert_per_threshold_not_one_per_tick(
        lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    two_gpu_trace(replay, {})
    lab = monitored(lab, replay, cost={"cpu_hourly": 3600.0})  # 1 per CPU-second
    recipe = sleeper(tmp_path / "sleeper")  # holds 0.5 CPU
    with LabClient(lab) as client:
        client.monitor.set_budget("project", "tight", daily=4.0, actor="test")
        run_id = submit(lab, recipe, "--project", "tight", "--set", "seconds=30")
        wait_status(lab, run_id, "running")
        crit = until(lambda: [a for a in open_alerts(client, "budget") if a.severity == "critical"],
                     timeout=40)
        time.sleep(1.5)  # several more evaluations while over
        budget = [a for a in client.monitor.alerts() if a.rule == "budget"]
        assert sorted(a.detail["threshold_pct"] for a in budget) == [80.0, 100.0]
        assert max(a.count for a in budget) > 2
        assert "tight spent" in crit[0].message
        uses = client.monitor.budgets()
        assert uses[0].spent_today >= 4.0 and uses[0].budget.daily == 4.0
        client.runs.cancel(run_id)


def test_a_run_whose_process_is_killed_is_flagged_once(lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    two_gpu_trace(replay, {})
    lab = monitored(lab, replay)
    recipe = sleeper(tmp_path / "sleeper")
    run_id = submit(lab, recipe, "--set", "seconds=60")
    wait_for_worker(lab, run_id)
    with LabClient(lab) as client:
        pid = client.runs.get(run_id).pid
        assert pid
        os.kill(pid, signal.SIGKILL)
        lost = until(lambda: open_alerts(client, "run_lost"), timeout=30)
        assert lost[0].subject == f"run:{run_id}" and lost[0].severity == "critical"
        acked = client.monitor.ack(lost[0].id[-4:], actor="test")
        assert acked.status == "resolved" and acked.acked_by == "test"
        time.sleep(1.0)
        assert open_alerts(client, "run_lost") == []  # acknowledged, and not raised again


def test_a_spent_hard_budget_keeps_new_runs_queued_with_the_reason(lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    two_gpu_trace(replay, {})
    lab = monitored(lab, replay, cost={"cpu_hourly": 3600.0})  # 1 per CPU-second
    recipe = sleeper(tmp_path / "sleeper")
    with LabClient(lab) as client:
        client.monitor.set_budget("project", "capped", daily=2.0, hard=True, actor="test")
        first = submit(lab, recipe, "--project", "capped", "--set", "seconds=30")
        wait_status(lab, first, "running")
        until(lambda: client.monitor.budgets()[0].spent_today >= 2.0, timeout=40)
        client.runs.cancel(first)
        second = submit(lab, recipe, "--project", "capped", "--set", "seconds=1")
        other = submit(lab, recipe, "--project", "free", "--set", "seconds=1")
        wait_status(lab, other, "finished")  # other projects go on
        waiting = client.runs.get(second)
        assert waiting.status == "queued"
        assert waiting.reason and "project capped has spent its daily budget" in waiting.reason
        client.monitor.set_budget("project", "capped", daily=1e9, hard=True, actor="test")
        wait_status(lab, second, "finished")
