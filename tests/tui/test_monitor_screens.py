"""The monitoring screens: alerts (and the header's badge), cost and budgets, GPU use per
owner and the last hour of each GPU, a deployment's serving health.

Pilot tests drive the real app against a real lab service: over the monitor's findings
of seed_monitor.py (fixed times, a fixed clock), and over a lab whose monitor reads a
replayed GPU that is nearly full, so that it raises a real alert to acknowledge."""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable

from mlopslab.client import LabClient, daemon
from mlopslab.core.alerts import Alert
from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.gpus import GpuDevice, GpuOwner, GpuProcess, GpuSnapshot
from mlopslab.core.serving_health import ServingHealth
from mlopslab.lab import Lab
from mlopslab.tui.app import LabApp
from mlopslab.tui.backend import GpuReading
from mlopslab.tui.screens.gpus import hour_lines, owners_block, owners_of
from mlopslab.tui.widgets.deployment_panels import drift_block, history_block, serving_block
from mlopslab.tui.widgets.lab_header import LabHeader, alert_badge
from tests.conftest import configure
from tests.monitor.test_alert_delivery import memory_trace
from tests.tui.conftest import make_app, until
from tests.tui.scenarios import MONITOR_SCENARIOS, Scenario, check_snapshot, play, settle, text_of
from tests.tui.seed import NOW
from tests.tui.seed_monitor import make_monitor_lab
from tests.tui.test_fit import footer_problems, lines


@pytest.fixture(scope="module")
def monitor_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The seeded monitor's findings; read-only tests share its service."""
    lab = make_monitor_lab(tmp_path_factory.mktemp("monitor") / "lab")
    with LabClient(lab) as client:
        client.service.ping()  # started before the first screen asks
    yield lab
    daemon.stop(lab, stop_ray=False)


def screen(app: LabApp) -> str:
    return "\n".join(lines(app))


def header(app: LabApp) -> str:
    return text_of(app, "LabHeader")


def rendered(thing: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(thing)
    return console.export_text()


@pytest.mark.parametrize("scenario", MONITOR_SCENARIOS, ids=[s.name for s in MONITOR_SCENARIOS])
@pytest.mark.asyncio
async def test_monitor_screens_look_as_recorded(monitor_lab: Lab, scenario: Scenario, tmp_path: Path) -> None:
    check_snapshot(scenario.name, await play(monitor_lab, scenario), tmp_path)


# alerts ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_alerts_open_first_resolved_on_demand_and_the_badge(monitor_lab: Lab) -> None:
    app = make_app(monitor_lab, start="alerts")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert not footer_problems(app), lines(app)[-1]
        table = app.screen.query_one(DataTable)
        order = [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(table.row_count)]
        # open ones first (critical, then the latest), then the acknowledged one; no resolved one
        assert order == ["al-00000001", "al-00000004", "al-00000002", "al-00000003"]
        shown = screen(app)
        assert "3 open (2 critical) · 1 acknowledged" in shown
        assert "memory 98% full (78.0 of 80.0 GiB)" in shown  # the selected one's message, whole
        assert "2m ago" in shown and "276" in shown
        assert "⚠ 3 alerts" in header(app)  # the acknowledged one is not counted
        await pilot.press("h")
        await settle(pilot, app)
        assert table.row_count == 5 and "1 resolved" in screen(app)
        for _ in range(4):
            await pilot.press("down")
        await settle(pilot, app)
        assert lines(app)[2].startswith(" severity")  # the table fits: nothing scrolled sideways
        assert "acknowledged by bo" in screen(app) and "resolved 2h30m ago" in screen(app)


def test_the_badge_counts_what_nobody_acknowledged_red_when_critical() -> None:
    def alert(severity: str, status: str) -> Alert:
        t = datetime(2026, 11, 20, tzinfo=UTC)
        return Alert(id="al-1", rule="r", subject="s", severity=severity, status=status, message="m",
                     detail={}, sticky=False, first_seen=t, last_seen=t, count=1, acked_at=None,
                     acked_by=None, resolved_at=None)

    assert not alert_badge(None) and not alert_badge([alert("critical", "acked")])
    warning = alert_badge([alert("warning", "open"), alert("critical", "acked")])
    assert warning.plain == "⚠ 1 alert" and str(warning.style) == "yellow"
    critical = alert_badge([alert("warning", "open"), alert("critical", "open")])
    assert critical.plain == "⚠ 2 alerts" and "red" in str(critical.style)


@pytest.mark.asyncio
async def test_a_real_alert_shows_live_is_acknowledged_from_the_screen_and_the_badge_goes(
        own_lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    memory_trace(replay, used_gib=78)  # 97.5% full: a gpu_memory alert within a second or two
    lab = configure(own_lab, gpu={"source": f"replay:{replay}"},
                    monitor={"interval_s": 0.2, "alerts_interval_s": 0.3})
    app = make_app(lab, start="alerts", clock=time.time, poll_s=0.5)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "gpu_memory" in screen(app), timeout=30, what="the alert, live")
        await until(pilot, lambda: "⚠ 1 alert" in header(app), what="the badge")
        assert "memory 98% full" in screen(app) and "open" in screen(app)
        await pilot.press("a")
        await until(pilot, lambda: "alert" not in header(app), what="the badge to go")
        await until(pilot, lambda: "acked" in screen(app) and "acknowledged by" in screen(app))
        assert "0 open · 1 acknowledged" in screen(app)
    with LabClient(lab) as client:
        (acked,) = client.monitor.alerts()
        assert (acked.rule, acked.status, acked.acked_by) == ("gpu_memory", "acked", getpass.getuser())


# cost ----------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_cost_by_each_dimension_this_month_by_default_unpriced_never_zero(monitor_lab: Lab) -> None:
    app = make_app(monitor_lab, start="cost")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert not footer_problems(app), lines(app)[-1]
        with LabClient(monitor_lab) as client:
            month = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
            report = client.monitor.cost(by="project", since=month, until=NOW)
        shown = screen(app)
        total = sum(c.cost_allocated for c in report.lines)
        assert f"{total:,.2f} USD by allocation" in shown and "(2026-11, by project)" in shown
        assert "+? and" in shown and "GPU-h on GPUs with no price" in shown
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == [c.key for c in report.lines]
        top = report.lines[0]
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[0] == top.key and row[1] == f"{top.cost_allocated:,.2f} +?"  # more, unpriced
        seen = []
        for _ in range(4):
            await pilot.press("b")
            await settle(pilot, app)
            seen.append(str(next(iter(table.columns.values())).label))
        assert seen == ["user", "run", "deployment", "day"]
        assert [str(k.value) for k in table.rows] == ["2026-11-20"]
        await pilot.press("w")  # today
        await settle(pilot, app)
        assert "(2026-11-20, by day)" in screen(app)


@pytest.mark.asyncio
async def test_cost_by_deployment_and_budgets_with_their_limits(monitor_lab: Lab) -> None:
    app = make_app(monitor_lab, start="cost")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        budgets = text_of(app, "#cost-budgets")
        assert "project vision" in budgets and "hard" in budgets
        assert "0.00/5.00" in budgets and "0.00/0.50" in budgets  # nothing spent in the real today
        for _ in range(3):
            await pilot.press("b")
            await settle(pilot, app)
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == ["breast-cancer"]
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[1] == row[2] != "0.00"  # a deployment is charged what it used, in both views


# GPUs ----------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_gpus_screen_shows_the_last_hour_of_the_lab_history(monitor_lab: Lab) -> None:
    app = make_app(monitor_lab, start="gpus")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, app)
        hour = text_of(app, "#gpu-hour")
        assert "last hour" in hour and "GPU 0" in hour and "GPU 1" in hour
        assert "max  94%" in hour  # device 0 of seed_monitor peaks at 94%
        assert "no lab run or deployment on the GPUs now" in text_of(app, "#gpu-owners")


def test_owners_held_against_busy_from_their_gpu_use() -> None:
    device = GpuDevice(0, "GPU-0", "NVIDIA H100", 90.0, 20 * 2**30, 80 * 2**30,
                       processes=(GpuProcess(11, 2**30), GpuProcess(12, 2**30), GpuProcess(13, 2**30)))
    other = GpuDevice(1, "GPU-1", "NVIDIA H100", 5.0, 2**30, 80 * 2**30, processes=(GpuProcess(14, 2**30),))
    run, idle = GpuOwner("run", "r-busy"), GpuOwner("run", "r-idle")
    reading = GpuReading(GpuSnapshot(0.0, "replay", (device, other)), {11: run, 12: run, 14: idle})
    on = owners_of(reading)
    assert on == {run: [0], idle: [1]}  # pid 13 is no lab process
    text = rendered(owners_block(on, [OwnerGpuUse("run", "r-busy", 7200.0, 6480.0, 3.6e6, 2**31)]))
    busy = next(line for line in text.splitlines() if "r-busy" in line)
    assert "2.00" in busy and "1.80" in busy and "90%" in busy and "1.00 kWh" in busy and "2.0 GiB" in busy
    assert "not measured yet" in next(line for line in text.splitlines() if "r-idle" in line)


def test_last_hour_averages_readings_per_cell_and_leaves_gaps_blank() -> None:
    since = 1_000_000.0
    points = [GpuPoint(datetime.fromtimestamp(since + 60 * m + 30, UTC), 0, "H100", 60.0, 100.0 if m < 30 else 0.0,
                       None, None, None) for m in range(60)]
    text = rendered(hour_lines(points, since, since + 3600, 120)).splitlines()
    line = next(x for x in text if x.startswith(" GPU 0"))
    graph = line.split("GPU 0 ", 1)[1][:60]
    assert graph == "█" * 30 + "▁" * 30 and "avg  50% max 100%" in line
    gaps = rendered(hour_lines(points[:10], since, since + 3600, 120))
    assert "█" * 10 + " " * 50 in gaps
    assert "no readings" in rendered(hour_lines([], since, since + 3600, 80))


# deployments -------------------------------------------------------------------------

def test_serving_health_of_the_last_five_minutes() -> None:
    t = datetime(2026, 11, 20, tzinfo=UTC)
    h = ServingHealth(deployment="bc", since=t, until=t, seconds=300.0, requests=6000, errors=12, rejected=3,
                      request_rate=20.0, error_rate=0.002, p50_ms=3.2, p95_ms=9.8, p99_ms=21.5, mean_ms=4.0,
                      queue_depth=2.0, batch_rows_mean=7.5, versions=["2"])
    text = serving_block(h).plain
    for part in ("last 5 min", "20.00 req/s", "errors 0.2%", "p50 3.2", "p95 9.8", "p99 21.5 ms",
                 "queue 2", "batch 7.5", "3 shed"):
        assert part in text, (part, text)
    quiet = ServingHealth(deployment="bc", since=t, until=t, seconds=300.0, requests=0, errors=0, rejected=0,
                          request_rate=0.0, error_rate=None, p50_ms=None, p95_ms=None, p99_ms=None,
                          mean_ms=None, queue_depth=None, batch_rows_mean=None)
    assert "no requests" in serving_block(quiet).plain and "queue —" in serving_block(quiet).plain
    assert "not live" in serving_block(None).plain


def test_the_last_hour_of_serving_as_sparklines() -> None:
    t = datetime(2026, 11, 20, tzinfo=UTC)

    def slice_of(rate: float, p99: float | None, errors: int = 0) -> ServingHealth:
        return ServingHealth(deployment="bc", since=t, until=t, seconds=300.0, requests=int(rate * 300),
                             errors=errors, rejected=0, request_rate=rate, error_rate=None, p50_ms=None,
                             p95_ms=None, p99_ms=p99, mean_ms=None, queue_depth=None, batch_rows_mean=None)

    text = history_block([slice_of(1.0, 5.0), slice_of(0.0, None), slice_of(4.0, 20.0, errors=3)]).plain
    assert "req/s ▂▁█ max 4.00" in text and "p99 ▂▁█ max 20.0 ms" in text and "3 errors" in text
    assert "no requests" in history_block([slice_of(0.0, None)] * 12).plain
    assert "no requests" in history_block([]).plain


def test_drift_block_without_a_reference_or_windows_says_why() -> None:
    from mlopslab.core.drift import DriftPolicy
    from mlopslab.core.drift_reports import DriftReport

    def report(status: str, message: str) -> DriftReport:
        return DriftReport(deployment="bc", version="1", model_version_id=None, status=status, drifting=False,
                           message=message, policy=DriftPolicy(), reference=None, rows_collected=120,
                           rows_dropped=0, latest=None, history=[], reviews=[])

    assert "collecting  120 rows sampled" in drift_block(report("collecting", "120 rows sampled")).plain
    text = drift_block(report("no reference", "the training data ? is not readable")).plain
    assert "no reference  the training data ? is not readable" in text
    assert drift_block(None).plain.strip() == "drift  —"


@pytest.mark.asyncio
async def test_header_keeps_the_badge_and_the_clock_at_80_columns(monitor_lab: Lab) -> None:
    app = make_app(monitor_lab, start="alerts")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        top = header(app)
        assert "⚠ 3 alerts" in top and top.rstrip().endswith("12:00"), top
        assert app.screen.query_one(LabHeader).alerts is not None


def test_every_screen_can_be_opened_first_from_the_cli() -> None:
    """`mlopslab tui --screen` offers exactly the app's screens (the CLI lists them
    itself, so that it need not import Textual to show its help)."""
    import click

    from mlopslab.cli.tui_cmd import tui
    from mlopslab.tui.app import SCREENS

    option = next(p for p in tui.params if p.name == "start")
    assert isinstance(option.type, click.Choice)
    assert set(option.type.choices) == {name for name, _, _, _ in SCREENS}
