"""A lab store filled with many made-up runs, fast (Arrow bulk inserts), for TUI tests,
the TUI benchmark and screenshots. Deterministic: the same `n` and `now` give the
same runs. Writes the DuckDB file directly, so call it before the service starts.

Seeding through the service's `write` op is the real path but takes about 2.5 ms a
run here (one INSERT per run_created event); 100k runs that way take minutes.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from mlopslab.store.db import Store
from mlopslab.store.writes import update_metric_last

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC).timestamp()
RECIPES = ("tabular-classifier", "mlp-digits", "resnet-cifar", "bert-finetune")
USERS = ("ana", "bo", "chen", "dev")
STATUSES = ("finished",) * 14 + ("failed", "failed", "timed_out", "cancelled", "killed")
STEPS = 5


def seed_runs(db_path: Path, n: int, now: float = NOW, active: int = 3, rng_seed: int = 7) -> list[str]:
    """Write `n` runs; return their ids, newest first.

    The newest `active` runs are queued and each asks for one GPU, so on a machine
    without GPUs they stay queued (a run that claims to be running without a
    process would be marked failed by the service's supervisor).
    """
    rng = random.Random(rng_seed)
    runs: dict[str, list] = {k: [] for k in (
        "id", "project", "recipe", "recipe_path", "status", "reason", "user_name", "seed", "params",
        "resources", "created_at", "started_at", "ended_at", "host", "code_version", "data_version")}
    params: dict[str, list] = {"run_id": [], "key": [], "value": [], "num": []}
    metrics: dict[str, list] = {"run_id": [], "key": [], "step": [], "ts": [], "value": []}
    ids = []
    for i in range(n):
        created = now - 60 * (i + 1)
        run_id = datetime.fromtimestamp(created, UTC).strftime("%y%m%d-%H%M%S") + f"-{i % 65536:04x}"
        ids.append(run_id)
        recipe = RECIPES[i % len(RECIPES)]
        status = "queued" if i < active else rng.choice(STATUSES)
        lr = round(rng.choice((0.1, 0.03, 0.01, 0.003, 0.001)), 4)
        width = rng.choice((32, 64, 128, 256))
        optimizer = rng.choice(("adam", "sgd"))
        p = {"lr": lr, "width": width, "optimizer": optimizer}
        started = None if status == "queued" else created + 2
        ended = None if status in ("queued", "running") else created + 2 + rng.randint(20, 900)
        for col, val in (("id", run_id), ("project", ("vision", "nlp", "default")[i % 3]),
                         ("recipe", recipe), ("recipe_path", f"/lab/recipes/{recipe}"),
                         ("status", status), ("reason", _reason(status)),
                         ("user_name", USERS[i % len(USERS)]), ("seed", i % 10),
                         ("params", json.dumps(p)),
                         ("resources", json.dumps({"cpus": 1, "gpus": 1 if i < active else i % 2})),
                         ("created_at", _ts(created)), ("started_at", _ts(started)), ("ended_at", _ts(ended)),
                         ("host", "ws-01"), ("code_version", "git:3f2a9c1"),
                         ("data_version", "sha256:9e1c" + f"{i % 997:03d}")):
            runs[col].append(val)
        for key, value in p.items():
            params["run_id"].append(run_id)
            params["key"].append(key)
            params["value"].append(json.dumps(value))
            params["num"].append(float(value) if isinstance(value, int | float) else None)
        if status == "queued":
            continue
        quality = rng.random()
        for step in range(STEPS):
            progress = (step + 1) / STEPS
            for key, value in (("accuracy", 0.5 + 0.45 * quality * progress),
                               ("loss", 1.2 * (1 - 0.8 * progress * quality) + 0.05)):
                metrics["run_id"].append(run_id)
                metrics["key"].append(key)
                metrics["step"].append(step)
                metrics["ts"].append(_ts(created + 3 + step))
                metrics["value"].append(round(value, 4))
    store = Store(db_path)
    try:
        cur = store.cursor()
        for table, columns in (("runs", runs), ("params", params)):
            arrow = pa.table(columns)
            cur.register("seed_batch", arrow)
            names = ", ".join(columns)
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM seed_batch")
            cur.unregister("seed_batch")
        cur.register("metric_batch", pa.table(metrics))  # as a logged batch: last values kept
        cur.execute("INSERT INTO metrics SELECT * FROM metric_batch")
        update_metric_last(cur)
        cur.unregister("metric_batch")
        cur.execute("INSERT INTO projects SELECT DISTINCT project, min(created_at) FROM runs "
                    "WHERE project NOT IN (SELECT name FROM projects) GROUP BY project")
    finally:
        store.close()
    return ids


def _reason(status: str) -> str | None:
    return {"queued": "cannot start on this cluster: it asks for 1 GPU but the cluster has 0",
            "timed_out": "over its 15m time limit",
            "killed": "over its GPU memory limit"}.get(status)


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)
