"""Quotas, the fair queue and resource limits, end to end on a real Ray cluster that
advertises two logical GPUs (tests/conftest.py). Every claim is checked from the
start and end times the store recorded, not from the scheduler's own word."""

from __future__ import annotations

import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.gpus import GpuOwner, GpuReport
from mlopslab.lab import Lab
from mlopslab.monitor.gpu import script_replay
from tests.conftest import configure, mlopslab, mlopslab_json

pytestmark = pytest.mark.ray

GIB = 1024**3

SLEEPER = """
    import os, time

    def work(ctx):
        print("CUDA_VISIBLE_DEVICES=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")))
        print("MLOPSLAB_GPU_MEMORY_LIMIT_BYTES=" + str(os.environ.get("MLOPSLAB_GPU_MEMORY_LIMIT_BYTES")))
        time.sleep(ctx.params["seconds"])
        ctx.log_metric("slept", ctx.params["seconds"])
        return ctx.gpu_ids
"""


def sleeper(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.toml").write_text(textwrap.dedent("""
        name = "sleeper"
        [params.seconds]
        type = "float"
        default = 2.0
        [resources]
        cpus = 0.5
        [[steps]]
        name = "work"
        function = "steps:work"
    """))
    (folder / "steps.py").write_text(textwrap.dedent(SLEEPER))
    return folder


def submit(lab: Lab, recipe: Path, *args: str) -> str:
    """Submit without following; --from-scratch so no run is answered from the step cache."""
    return str(mlopslab_json(lab, "run", str(recipe), "--detach", "--from-scratch", *args)["id"])


def wait_all(lab: Lab, ids: list[str], timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [mlopslab_json(lab, "runs", "show", i) for i in ids]
        if all(r["status"] not in ("queued", "starting", "running") for r in runs):
            return runs
        time.sleep(0.5)
    raise AssertionError(f"runs did not end: {[(r['id'], r['status']) for r in runs]}")


def wait_status(lab: Lab, run_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = mlopslab_json(lab, "runs", "show", run_id)
        if run["status"] == status:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {run['status']}, not {status}")


def t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return t(a["started_at"]) < t(b["ended_at"]) and t(b["started_at"]) < t(a["ended_at"])


def test_project_quota_of_one_gpu_runs_three_gpu_runs_one_at_a_time(lab: Lab, tmp_path: Path) -> None:
    recipe = sleeper(tmp_path / "sleeper")
    mlopslab(lab, "quota", "set", "--project", "vision", "--max-gpus", "1")
    ids = [submit(lab, recipe, "--project", "vision", "--gpus", "1", "--set", "seconds=2")
           for _ in range(3)]
    queue = mlopslab_json(lab, "queue")
    waiting = [r for r in queue["runs"] if r["status"] == "queued"]
    assert waiting, "with a 1-GPU quota at least two of three runs must wait"
    assert all("quota: project 'vision' uses 1 of 1 GPU" in (r["reason"] or "")
               for r in waiting if r["reason"]), waiting
    runs = wait_all(lab, ids)
    assert [r["status"] for r in runs] == ["finished"] * 3
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            assert not overlaps(a, b), f"{a['id']} and {b['id']} ran at the same time"
    quotas = mlopslab_json(lab, "quota", "ls")
    assert quotas[0]["scope"] == "project" and quotas[0]["max_gpus"] == 1
    assert quotas[0]["gpu_hours_24h"] > 0


def test_two_half_gpu_runs_share_one_gpu(lab: Lab, tmp_path: Path) -> None:
    lab = configure(lab, ray={"num_gpus": 1})  # the lab may use one of the cluster's GPUs
    recipe = sleeper(tmp_path / "sleeper")
    ids = [submit(lab, recipe, "--gpus", "0.5", "--set", "seconds=4") for _ in range(2)]
    third = submit(lab, recipe, "--gpus", "0.5", "--set", "seconds=1")
    runs = wait_all(lab, [*ids, third])
    assert [r["status"] for r in runs] == ["finished"] * 3
    a, b, c = runs
    assert overlaps(a, b), "two 0.5-GPU runs on one GPU should run side by side"
    assert a["gpu_ids"] == b["gpu_ids"] and len(a["gpu_ids"]) == 1
    assert not overlaps(a, c) or not overlaps(b, c), "a third half would need a second GPU"
    logs = mlopslab(lab, "runs", "logs", a["id"]).stdout
    assert f"CUDA_VISIBLE_DEVICES='{a['gpu_ids'][0]}'" in logs


def test_a_run_over_its_time_limit_frees_its_gpu_for_the_next(lab: Lab, tmp_path: Path) -> None:
    recipe = sleeper(tmp_path / "sleeper")
    mlopslab(lab, "quota", "set", "--project", "p", "--max-gpus", "1")
    slow = submit(lab, recipe, "--project", "p", "--gpus", "1", "--set", "seconds=120",
                  "--time-limit", "3s")
    time.sleep(0.5)
    nxt = submit(lab, recipe, "--project", "p", "--gpus", "1", "--set", "seconds=0.5")
    slow_run, next_run = wait_all(lab, [slow, nxt], timeout=90)
    assert slow_run["status"] == "timed_out"
    assert slow_run["reason"].startswith("time limit of 3s reached")
    assert 3 <= t(slow_run["ended_at"]) - t(slow_run["started_at"]) < 15
    assert next_run["status"] == "finished"
    gap = t(next_run["started_at"]) - t(slow_run["ended_at"])
    assert 0 <= gap < 10, f"the next run started {gap:.1f}s after the GPU freed"


def test_fair_share_starts_the_user_with_less_recent_gpu_time_first(lab: Lab, tmp_path: Path) -> None:
    lab = configure(lab, ray={"num_gpus": 1})
    recipe = sleeper(tmp_path / "sleeper")
    history = submit(lab, recipe, "--user", "alice", "--gpus", "1", "--set", "seconds=1")
    wait_all(lab, [history])
    blocker = submit(lab, recipe, "--user", "carol", "--gpus", "1", "--set", "seconds=4")
    wait_status(lab, blocker, "running")
    a1 = submit(lab, recipe, "--user", "alice", "--gpus", "1", "--set", "seconds=0.5")
    a2 = submit(lab, recipe, "--user", "alice", "--gpus", "1", "--set", "seconds=0.5")
    b1 = submit(lab, recipe, "--user", "bob", "--gpus", "1", "--set", "seconds=0.5")
    order = [r["id"] for r in mlopslab_json(lab, "queue")["runs"] if r["status"] == "queued"]
    assert order == [b1, a1, a2]
    urgent = submit(lab, recipe, "--user", "alice", "--gpus", "1", "--priority", "5",
                    "--set", "seconds=0.5")
    runs = wait_all(lab, [blocker, a1, a2, b1, urgent])
    started = sorted(runs[1:], key=lambda r: t(r["started_at"]))
    assert [r["id"] for r in started] == [urgent, b1, a1, a2]


def test_impossible_requests_are_rejected_at_once(lab: Lab, tmp_path: Path) -> None:
    recipe = sleeper(tmp_path / "sleeper")
    done = mlopslab(lab, "run", str(recipe), "--gpus", "3", check=False)
    assert done.returncode == 8
    assert "asks for 3 GPUs but the cluster has 2" in done.stderr
    mlopslab(lab, "quota", "set", "--user", "dana", "--max-gpus", "1", "--max-time-limit", "1h")
    over_quota = mlopslab(lab, "run", str(recipe), "--user", "dana", "--gpus", "2", check=False)
    assert over_quota.returncode == 8 and "user 'dana' may use 1" in over_quota.stderr
    too_long = mlopslab(lab, "run", str(recipe), "--user", "dana", "--time-limit", "2h",
                        check=False)
    assert too_long.returncode == 8 and "allows at most 1h" in too_long.stderr
    assert mlopslab_json(lab, "runs", "ls") == []
    run = mlopslab_json(lab, "run", str(recipe), "--user", "dana", "--set", "seconds=0.1")
    assert run["status"] == "finished" and run["resources"]["time_limit"] == "3600s"


def test_queue_and_show_expose_scheduling_fields_and_cancel_a_queued_run(
        lab: Lab, tmp_path: Path) -> None:
    recipe = sleeper(tmp_path / "sleeper")
    mlopslab(lab, "quota", "set", "--user", "erin", "--max-runs", "1")
    first = submit(lab, recipe, "--user", "erin", "--set", "seconds=30")
    second = submit(lab, recipe, "--user", "erin", "--set", "seconds=30")
    wait_status(lab, first, "running")
    queue = mlopslab_json(lab, "queue")
    by_id = {r["id"]: r for r in queue["runs"]}
    assert by_id[first]["status"] == "running" and by_id[first]["started_at"]
    assert by_id[second]["status"] == "queued" and by_id[second]["position"] == 1
    assert "user 'erin' runs 1 of at most 1 run" in by_id[second]["reason"]
    for key in ("status", "reason", "resources", "queued_at", "started_at"):
        assert key in by_id[second]
    shown = mlopslab_json(lab, "runs", "show", second)
    assert {"status", "reason", "resources", "queued_at", "started_at", "ended_at"} <= set(shown)
    assert shown["resources"]["cpus"] == 0.5
    cancelled = mlopslab_json(lab, "cancel", second, first)
    assert [r["status"] for r in cancelled] == ["cancelled", "cancelled"]
    assert cancelled[0]["started_at"] is None and cancelled[0]["ended_at"]
    assert mlopslab_json(lab, "queue")["runs"] == []


def test_gpu_memory_watchdog_kills_a_run_over_its_limit(lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    script_replay(replay, {})
    lab = configure(lab, gpu={"source": f"replay:{replay}", "watchdog_interval_s": 0.5})
    recipe = sleeper(tmp_path / "sleeper")
    run_id = submit(lab, recipe, "--gpus", "1", "--gpu-memory", "1", "--set", "seconds=120")
    worker = wait_for_worker(lab, run_id)
    script_replay(replay, {worker: int(0.5 * GIB)})  # under the limit: keeps running
    time.sleep(2)
    assert mlopslab_json(lab, "runs", "show", run_id)["status"] == "running"
    assert gpu_report(lab).owners[str(worker)] == GpuOwner(kind="run", id=run_id)
    over_at = time.time()
    script_replay(replay, {worker: 3 * GIB})
    run = wait_status(lab, run_id, "killed", timeout=30)
    assert "GPU memory 3.00 GiB over its limit of 1 GiB" in run["reason"]
    assert t(run["ended_at"]) - over_at < 5
    logs = mlopslab(lab, "runs", "logs", run_id).stdout
    assert f"MLOPSLAB_GPU_MEMORY_LIMIT_BYTES={GIB}" in logs


def wait_for_worker(lab: Lab, run_id: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = mlopslab_json(lab, "runs", "show", run_id)
        if run["worker_pid"] and run["status"] == "running":
            return int(run["worker_pid"])
        time.sleep(0.3)
    raise AssertionError("the run's step never started")


def gpu_report(lab: Lab) -> GpuReport:
    from mlopslab.client import LabClient

    with LabClient(lab) as client:
        return client.queue.gpus()


def test_lab_start_gpus_advertises_logical_gpus_and_remembers_them(tmp_path: Path) -> None:
    from mlopslab.client import daemon
    from mlopslab.cluster import LocalCluster
    from mlopslab.lab import init_lab
    from mlopslab.service.capacity import probe

    own = init_lab(tmp_path / "own")
    try:
        mlopslab(own, "lab", "start", "--gpus", "3")
        assert "num_gpus = 3" in (own.root / "mlopslab.toml").read_text()
        info = LocalCluster(Lab(own.root).state).running()
        assert info is not None and info.address.startswith("127.0.0.1:")
        assert probe(info.address, info.token_path).gpus == 3
        assert mlopslab_json(own, "queue")["capacity"]["gpus"] == 3
    finally:
        daemon.stop(Lab(own.root), stop_ray=True)
