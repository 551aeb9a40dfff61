"""The monitoring commands over a real lab and its real service: `gpu` (no driver here,
and a replayed 2-GPU trace whose process is a real run's step worker), `cost`, `budget
set|ls|clear`, `alerts` and `alerts ack`; tables whole at 80 columns and into a pipe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlopslab.cli.cost_cmd import cost_grid
from mlopslab.cli.grid import render
from mlopslab.client import daemon
from mlopslab.core.cost import CostLine, CostReport
from mlopslab.lab import Lab, init_lab
from mlopslab.monitor.gpu import open_source
from tests.cli.test_commands import cli
from tests.conftest import configure, mlopslab, mlopslab_json
from tests.exec.test_queue import sleeper, submit, wait_for_worker
from tests.monitor.test_monitor_service import H100, two_gpu_trace, until

GIB = 1024**3
RUN_ID = "261201-213344-9f2c"


def at(lab: Lab, *args: str, columns: int | None = None) -> Any:
    """`mlopslab --lab LAB ARGS`, stdout a pipe (or a terminal `columns` wide)."""
    return cli("--lab", str(lab.root), *args, columns=columns)


def whole(text: str, *values: str, width: int | None = None) -> None:
    assert all(v in text for v in values), text
    assert "…" not in text
    if width:
        assert all(len(line) <= width for line in text.splitlines()), text


@pytest.fixture
def plain_lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab whose service runs without Ray (budgets and alerts need none)."""
    the_lab = init_lab(tmp_path / "lab", "plain")
    yield the_lab
    daemon.stop(the_lab, stop_ray=False)


def no_driver() -> bool:
    source = open_source("nvml")
    try:
        return not source.sample().devices
    finally:
        source.close()


@pytest.mark.skipif(not no_driver(), reason="this machine has NVIDIA GPUs")
def test_gpu_without_a_driver_says_so_in_one_line_and_exits_0(plain_lab: Lab) -> None:
    for via in ("source", "service"):  # read directly (no service started for it), then not
        if via == "service":
            mlopslab(plain_lab, "lab", "start")
        done = at(plain_lab, "gpu")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "no GPUs: no NVIDIA driver found (NVML Shared Library Not Found)"], via
        if via == "source":
            assert daemon.status(plain_lab) is None  # not started just for this
        report = json.loads(at(plain_lab, "gpu", "--json").stdout)
        assert report["problem"].startswith("no NVIDIA driver found") and report["devices"] == []
        assert report["via"] == via


@pytest.mark.ray
def test_gpu_shows_replayed_devices_and_a_runs_process_as_its_owner(lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    two_gpu_trace(replay, {})
    lab = configure(lab, gpu={"source": f"replay:{replay}"})
    direct = json.loads(at(lab, "gpu", "--json").stdout)  # no service yet: the source itself
    assert direct["via"] == "source" and [d["index"] for d in direct["devices"]] == [0, 1]
    run_id = submit(lab, sleeper(tmp_path / "sleeper"), "--set", "seconds=60")
    try:
        worker = wait_for_worker(lab, run_id)
        two_gpu_trace(replay, {1: (worker, 90.0, 400.0)})
        report = until(lambda: (r := mlopslab_json(lab, "gpu"))["processes"] and r)
        assert report["via"] == "service" and report["problem"] is None
        assert [(d["index"], d["name"]) for d in report["devices"]] == [(0, H100), (1, H100)]
        assert report["processes"] == [{"pid": worker, "device": 1, "used_memory": 2 * GIB,
                                        "owner": {"kind": "run", "id": run_id}}]
        for columns in (80, None):
            out = at(lab, "gpu", columns=columns).stdout
            whole(out, H100, "90%", "2.0/80.0", "400", str(worker), f"run {run_id}", width=columns)
    finally:
        mlopslab(lab, "cancel", run_id)


@pytest.mark.ray
def test_cost_of_a_short_run_on_logical_gpus_is_unpriced_and_a_budget_alert_is_acked(
        lab: Lab, tmp_path: Path) -> None:
    lab = configure(lab, monitor={"alerts_interval_s": 0.3})
    run = mlopslab_json(lab, "run", str(sleeper(tmp_path / "sleeper")), "--gpus", "1",
                        "--set", "seconds=1")
    assert run["status"] == "finished"
    report = mlopslab_json(lab, "cost", "--by", "run")
    line = next(c for c in report["lines"] if c["key"] == run["id"])
    assert line["cpu_hours"] > 0 and line["gpu_hours_allocated"] > 0
    # no GPU model is known for a logical GPU: its hours are unpriced, not free
    assert line["unpriced_gpu_hours"] == pytest.approx(line["gpu_hours_allocated"])
    assert line["cost_allocated"] > 0  # CPU and memory are priced
    assert report["total"]["unpriced_gpu_hours"] >= line["unpriced_gpu_hours"]
    assert datetime.fromisoformat(report["since"]) == datetime.now(UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)  # the start of this month
    for columns in (80, None):
        out = at(lab, "cost", "--by", "run", "--since", "1h", columns=columns).stdout
        whole(out, run["id"], "GPU-h", "unpriced", "total", "in USD", width=columns)
    assert "default" in at(lab, "cost").stdout  # by project: the lab's default one
    bad = at(lab, "cost", "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday' is not a time" in bad.stderr

    mlopslab(lab, "budget", "set", "--project", "default", "--daily", "0.000001")
    alerts = until(lambda: [a for a in mlopslab_json(lab, "alerts") if a["rule"] == "budget"])
    critical = next(a for a in alerts if a["severity"] == "critical")
    whole(at(lab, "alerts", columns=80).stdout, critical["id"], "critical", width=80)
    acked = mlopslab_json(lab, "alerts", "ack", critical["id"][-4:])  # a suffix is enough
    assert acked["id"] == critical["id"] and acked["status"] == "acked" and acked["acked_by"]
    assert "acked" in at(lab, "alerts", "ack", critical["id"]).stdout  # again: no change


def test_budget_set_ls_clear_round_trip(plain_lab: Lab) -> None:
    first = mlopslab_json(plain_lab, "budget", "set", "--project", "vision", "--daily", "5")
    assert (first["scope"], first["name"], first["daily"], first["monthly"], first["hard"]) == (
        "project", "vision", 5.0, None, False)
    assert first["daily_pct"] == 0.0 and first["monthly_pct"] is None and first["actor"]
    assert datetime.fromisoformat(first["updated_at"]).utcoffset() is not None  # ISO, UTC
    second = mlopslab_json(plain_lab, "budget", "set", "--project", "vision", "--monthly", "100",
                           "--hard")
    assert (second["daily"], second["monthly"], second["hard"]) == (5.0, 100.0, True)  # kept
    mlopslab(plain_lab, "budget", "set", "--user", "ana", "--monthly", "20")
    rows = mlopslab_json(plain_lab, "budget", "ls")
    assert [(r["scope"], r["name"]) for r in rows] == [("project", "vision"), ("user", "ana")]
    for columns in (80, None):
        whole(at(plain_lab, "budget", "ls", columns=columns).stdout, "vision", "5.00", "100.00",
              "hard", "ana", "20.00", width=columns)
    assert "cleared" in mlopslab(plain_lab, "budget", "clear", "--user", "ana").stdout
    assert [r["name"] for r in mlopslab_json(plain_lab, "budget", "ls")] == ["vision"]
    again = at(plain_lab, "budget", "clear", "--user", "ana")  # a retry is no error
    assert again.returncode == 0 and "user 'ana' has no budget: nothing to clear" in again.stdout
    both = at(plain_lab, "budget", "set", "--project", "p", "--user", "u", "--daily", "1")
    assert both.returncode == 2 and "exactly one of" in both.stderr
    none = at(plain_lab, "budget", "set", "--project", "p")
    assert none.returncode == 2 and "give a limit" in none.stderr


def test_alerts_none_and_ack_of_an_unknown_id_exits_7_with_a_hint(plain_lab: Lab) -> None:
    assert mlopslab_json(plain_lab, "alerts") == []
    assert mlopslab_json(plain_lab, "alerts", "--all") == []
    assert at(plain_lab, "alerts").stdout.startswith("no open alerts")
    done = at(plain_lab, "alerts", "ack", "al-nope")
    assert done.returncode == 7
    assert done.stderr.splitlines() == ["error: no alert 'al-nope' (or more than one matches)",
                                        "hint: list them with `mlopslab alerts --all`"]


def test_cost_table_keeps_ids_and_numbers_whole_at_80_columns() -> None:
    lines = [CostLine(RUN_ID, gpu_hours_allocated=2.0, gpu_hours_busy=1.8, energy_kwh=0.9,
                      cost_allocated=6.3, cost_used=5.7, idle_waste=0.6).finish(),
             CostLine("261201-220010-1a2b", gpu_hours_allocated=2.0, cost_allocated=0.02,
                      cost_used=0.02, unpriced_gpu_hours=2.0).finish()]
    report = CostReport("run", datetime(2026, 12, 1, tzinfo=UTC),
                        datetime(2026, 12, 2, 7, 12, tzinfo=UTC), "USD", lines)
    narrow = render(cost_grid(report), 80)
    whole(narrow, RUN_ID, "261201-220010-1a2b", "90%", "6.30", "5.70", "+2.00 GPU-h", "6.32",
          width=80)
    piped = render(cost_grid(report), None).splitlines()
    assert piped[0] == "cost by run, 2026-12-01 00:00 UTC to 2026-12-02 07:12 UTC, in USD"
    assert piped[3].split()[-3:] == ["+2.00", "GPU-h", "unpriced"]  # never shown as 0
    assert piped[-1].split()[:3] == ["total", "4.00", "1.80"]


def test_since_takes_a_duration_an_iso_date_or_all() -> None:
    from mlopslab.cli.cost_cmd import moment
    from mlopslab.core.errors import ConfigError

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert moment("7d", now) == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert moment("90s", now) == datetime(2026, 12, 5, 11, 58, 30, tzinfo=UTC)
    assert moment("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert moment("2026-12-01T08:30+01:00", now) == datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    assert moment("all", now) is None
    with pytest.raises(ConfigError, match="--until 'soon' is not a time"):
        moment("soon", now, "--until")

