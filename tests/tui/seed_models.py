"""A registry with fixed facts for TUI snapshots and fast pilot tests: model
versions, gate reports, alias moves and lineage rows written straight into the
lab's DuckDB file (before its service starts) through the store's own event
writers. Deterministic: fixed times (tests/tui/seed.py's NOW), ids and numbers.

breast-cancer: @1 and @2 were promoted in turn (@2 is champion); @3 fails the
regression gate against @2; @4 (candidate) passes against @2. churn: one
version registered from a file, never gated. Deployments (store rows only, no
process): `breast-cancer` serves @2; `bc-trial` served @2 once and is undeployed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mlopslab.core.clock import utc_naive
from mlopslab.core.events import AliasMoved, Event, GatesChecked, ModelVersionRegistered
from mlopslab.lab import Lab, init_lab
from mlopslab.store.db import Store
from mlopslab.store.model_writes import MODEL_WRITERS
from tests.tui.seed import NOW, seed_runs

NAME = "breast-cancer"


def digest(word: str) -> str:
    return "sha256:" + hashlib.sha256(word.encode()).hexdigest()


TRAIN = digest("breast_cancer.csv")
HOLDOUT = digest("holdout.csv")
SCHEMA = {"inputs": [{"name": "input", "type": "tensor(float)", "shape": [None, 30]}],
          "outputs": [{"name": "label", "type": "tensor(int64)", "shape": [None]},
                      {"name": "probabilities", "type": "tensor(float)", "shape": [None, 2]}]}
# (accuracy, roc_auc, f1) of @1..@4 on the holdout
SCORES = [(0.923, 0.962, 0.938), (0.951, 0.987, 0.961), (0.888, 0.941, 0.909), (0.958, 0.991, 0.967)]


def version(number: int, run_id: str | None, created: float) -> dict[str, Any]:
    accuracy, roc_auc, f1 = SCORES[number - 1]
    return {"id": f"mv-{number:04d}", "name": NAME, "sha256": hashlib.sha256(f"m{number}".encode()).hexdigest(),
            "size": 181_233 + number, "source": "run", "run_id": run_id, "train_data": TRAIN,
            "holdout_data": HOLDOUT, "holdout_sha256": HOLDOUT.removeprefix("sha256:"), "target": "target",
            "exclude": [], "sensitive": "group", "task": "binary", "primary_metric": "accuracy",
            "direction": "maximize", "scores": {"accuracy": accuracy, "f1": f1, "roc_auc": roc_auc},
            "groups": {}, "schema": SCHEMA, "deps": {}, "gates": None, "info": {},
            "created_by": "auto-register"}


def report(number: int, champion: int | None, created: float) -> dict[str, Any]:
    accuracy, roc_auc, _ = SCORES[number - 1]
    base = SCORES[champion - 1] if champion else None
    eod = (0.08, 0.11, 0.19, 0.09)[number - 1]

    def vs(metric: str, value: float, i: int) -> dict[str, Any]:
        if base is None:
            return {"gate": "regression", "name": f"{metric}:vs_champion", "value": value, "limit": None,
                    "op": ">=", "passed": True, "detail": {"note": "no champion: nothing to regress from"}}
        limit = round(base[i] - 0.02, 4)
        return {"gate": "regression", "name": f"{metric}:vs_champion", "value": value, "limit": limit,
                "op": ">=", "passed": value >= limit, "detail": {"champion_value": base[i]}}

    checks = [
        {"gate": "integrity", "name": "loads", "value": None, "limit": None, "op": None, "passed": True},
        {"gate": "integrity", "name": "schema", "value": None, "limit": None, "op": None, "passed": True},
        {"gate": "integrity", "name": "nonfinite_outputs", "value": 0.0, "limit": 0.0, "op": "<=", "passed": True},
        {"gate": "regression", "name": "accuracy:min", "value": accuracy, "limit": 0.85, "op": ">=", "passed": True},
        vs("accuracy", accuracy, 0),
        {"gate": "regression", "name": "roc_auc:min", "value": roc_auc, "limit": 0.9, "op": ">=", "passed": True},
        vs("roc_auc", roc_auc, 1),
        {"gate": "bias", "name": "equalized_odds_difference", "value": eod, "limit": 0.3, "op": "<=",
         "passed": True},
        {"gate": "latency", "name": "p95_ms@batch1", "value": 0.041 + number / 1000, "limit": 5.0, "op": "<=",
         "passed": True},
        {"gate": "latency", "name": "p95_ms@batch64", "value": 0.62 + number / 100, "limit": 20.0, "op": "<=",
         "passed": True},
    ]
    failed = [f"{c['gate']}.{c['name']}" for c in checks if not c["passed"]]
    return {"id": f"gr-261120-{number:02d}0000-a{number}b2c3", "name": NAME, "version": number,
            "champion_version": champion, "passed": not failed, "failed": failed,
            "holdout_data": HOLDOUT, "provider": "CPUExecutionProvider", "spec": {},
            # the set the registry made with @1, in force
            "info": {"evaluation": {"data": HOLDOUT, "sha256": HOLDOUT.removeprefix("sha256:"), "set": 1,
                                    "source": f"holdout of {NAME}@1"}},
            "checks": checks, "actor": "ana"}


def seed_models(db_path: Path, run_ids: list[str]) -> None:
    """Write the registry above; its versions come from the finished runs in `run_ids`."""
    finished = [run_ids[i] for i in (36, 28, 20, 12)]  # tabular-classifier runs, oldest first
    t0 = NOW - 4 * 86400
    events: list[Event] = []
    for n in range(1, 5):
        created = t0 + n * 3600 * 6
        events.append(ModelVersionRegistered(version=version(n, finished[n - 1], created),
                                             ts=created, aliases=["candidate"]))
        champion = None if n == 1 else (1 if n == 2 else 2)
        events.append(GatesChecked(report=report(n, champion, created), ts=created + 60))
        if n <= 2:
            events.append(AliasMoved(name=NAME, alias="champion", to_version=n, ts=created + 120,
                                     actor="ana", reason="gates passed", forced=False,
                                     report_id=report(n, champion, created)["id"]))
    churn = {**version(1, None, t0), "id": "mv-churn-1", "name": "churn", "source": "file",
             "info": {"file": "/data/churn-xgb.onnx"}, "scores": {"accuracy": 0.874, "f1": 0.71}}
    events.append(ModelVersionRegistered(version=churn, ts=t0 + 600, aliases=["candidate"]))
    store = Store(db_path)
    try:
        con = store.cursor()
        for event in events:
            MODEL_WRITERS[type(event)](con, event)
        con.execute("INSERT INTO datasets VALUES (?, 'file', 'data/breast_cancer.csv', 121345, ?)",
                    [TRAIN, utc_naive(t0)])
        for run_id in finished:
            con.execute("INSERT INTO run_inputs VALUES (?, 'train', ?, 'file', 'data/breast_cancer.csv')",
                        [run_id, TRAIN])
        for name, endpoint, active, status in (("breast-cancer", "http://127.0.0.1:8700", "2", "serving"),
                                               ("bc-trial", "http://127.0.0.1:8701", None, "undeployed")):
            con.execute("INSERT INTO deployments VALUES (?, 'process', ?, ?, ?, NULL, ?, ?, ?, 'ana')",
                        [name, NAME, endpoint, active, status, utc_naive(t0 + 86400), utc_naive(t0 + 90000)])
            con.execute("INSERT INTO deployment_versions VALUES (?, '2', 'mv-0002', ?, ?)",
                        [name, version(2, None, t0)["sha256"], utc_naive(t0 + 86400)])
    finally:
        store.close()


def make_models_lab(root: Path) -> Lab:
    """A lab of 40 seeded runs and the registry above (service not started yet)."""
    lab = init_lab(root, "demo", ray_address="")
    seed_models(lab.db_path, seed_runs(lab.db_path, 40))
    return lab
