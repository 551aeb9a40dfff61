"""A lab whose monitor has been at work, for the monitoring screens' tests and snapshots:
an hour of readings of two H100s, GPU use per run and deployment, budgets and alerts
of every state, all at fixed times before `NOW`. Written into the DuckDB file directly (call it before the service
starts), on top of the seeded runs and registry of seed_models.py.

The lab's monitor is configured not to touch them while a test runs: its alert rules
wait an hour before their first pass (so the made-up alerts are not resolved), and
history is never compacted (so the made-up readings stay raw).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from mlopslab.core.clock import utc_naive
from mlopslab.lab import Lab
from mlopslab.store.db import Store
from tests.conftest import configure
from tests.tui.seed import NOW
from tests.tui.seed_models import make_models_lab

GIB = 1024**3
H100 = "NVIDIA H100 80GB HBM3"
QUIET_MONITOR = {"alerts_interval_s": 3600.0, "raw_hours": 1e6, "minute_days": 30_000.0}


def utilization(device: int, minute: int) -> float:
    """Device 0 trains steadily; device 1 idles for twenty minutes in the middle."""
    if device == 0:
        return round(82 + 12 * math.sin(minute / 6), 1)
    return 3.0 if 20 <= minute < 40 else round(55 + 30 * math.cos(minute / 4), 1)


def seed_monitor(db_path: Path, now: float = NOW) -> None:
    store = Store(db_path)
    try:
        con = store.cursor()
        runs = con.execute("SELECT id, epoch(started_at), epoch(ended_at), resources FROM runs "
                           "WHERE started_at IS NOT NULL ORDER BY created_at DESC").fetchall()
        for minute in range(60):
            ts = now - 3600 + 60 * minute + 30
            for device in (0, 1):
                util = utilization(device, minute)
                con.execute("INSERT INTO gpu_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 60)",
                            [utc_naive(ts), device, f"GPU-{device}", H100, util, 40 * GIB, 80 * GIB,
                             100 + 5 * util, 60.0])
        for i, (run_id, start, end, resources) in enumerate(runs):
            if not json.loads(resources).get("gpus"):
                continue
            device = i % 2
            if i % 5:  # every fifth GPU run held a GPU the monitor never read: unpriced
                con.execute("UPDATE runs SET gpu_ids = ? WHERE id = ?", [json.dumps([device]), run_id])
            seconds = min(end, now) - start  # some seeded runs end after NOW
            busy = (0.85 if i % 3 else 0.04) * seconds
            con.execute("INSERT INTO gpu_usage VALUES (?, 'raw', ?, ?, 'run', ?, ?, ?, ?, ?)",
                        [utc_naive(start), device, H100, run_id, seconds, busy, 350 * busy,
                         int((6 + i % 20) * GIB)])
        con.execute("INSERT INTO gpu_usage VALUES (?, 'raw', 1, ?, 'deployment', 'breast-cancer', "
                    "3600, 540, 180000, ?)", [utc_naive(now - 3600), H100, 3 * GIB])
        for scope, name, daily, monthly, hard in (("project", "vision", None, 5.0, True),
                                                  ("project", "nlp", 0.5, 4.0, False),
                                                  ("user", "ana", None, 20.0, False)):
            con.execute("INSERT INTO budgets VALUES (?, ?, ?, ?, ?, ?, 'ana')",
                        [scope, name, daily, monthly, hard, utc_naive(now - 86400)])
        idle_run = runs[2][0]
        for row in alerts(now, idle_run, runs[5][0]):
            con.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    finally:
        store.close()


def alerts(now: float, idle_run: str, lost_run: str) -> list[list[object]]:
    """Two open (one critical), one acknowledged, one resolved, one lost run (sticky)."""
    def at(ago_s: float) -> object:
        return utc_naive(now - ago_s)

    return [
        ["al-00000001", "gpu_memory", "gpu:0", "critical", "open",
         "GPU 0 (NVIDIA H100 80GB HBM3) memory 98% full (78.0 of 80.0 GiB)", "{}", False,
         at(1500), at(120), 276, None, None, None],
        ["al-00000002", "idle_gpu", f"run:{idle_run}", "warning", "open",
         f"run {idle_run} held 1 GPU for 10m at 3% busy", "{}", False, at(900), at(60), 170, None, None, None],
        ["al-00000003", "budget", "project:vision monthly 2026-11 80%", "warning", "acked",
         "project vision spent 4.12 USD of its monthly budget of 5.00 (82%).", "{}", False,
         at(5400), at(30), 1080, at(3000), "ana", None],
        ["al-00000004", "run_lost", f"run:{lost_run}", "critical", "open",
         f"run {lost_run} (vision) was lost: its process vanished without a final status", "{}", True,
         at(2400), at(2400), 1, None, None, None],
        ["al-00000005", "rolled_back", "deployment:breast-cancer@2026-11-20T09:12:00+00:00", "critical",
         "resolved", "deployment breast-cancer rolled back by itself from version 3 to 2", "{}", True,
         at(10080), at(10080), 1, at(9000), "bo", at(9000)],
    ]


def make_monitor_lab(root: Path) -> Lab:
    """Seeded runs, the registry and its deployments, and the monitor's findings above;
    the monitor kept quiet (see the module's docstring), no GPU read by the service."""
    lab = make_models_lab(root)
    seed_monitor(lab.db_path)
    return configure(lab, gpu={"source": "none"}, monitor=QUIET_MONITOR, ray={"num_gpus": 0})
