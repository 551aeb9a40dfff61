"""Registry facts in a real DuckDB store: version numbers, aliases and history, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.errors import NotFound
from mlopslab.core.events import AliasMoved, GatesChecked, ModelVersionRegistered
from mlopslab.core.gate_reports import GateVerdict
from mlopslab.core.gates import Check
from mlopslab.core.model_versions import GateResult
from mlopslab.core.refs import ModelRef
from mlopslab.store import models as q
from mlopslab.store.db import Store

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "lab.duckdb")
    yield s
    s.close()


def version_event(sha: str, run_id: str | None = "r1", ts: float = T0) -> ModelVersionRegistered:
    return ModelVersionRegistered(ts=ts, aliases=["candidate"], version={
        "id": sha, "name": "churn", "sha256": sha, "size": 10, "source": "run" if run_id else "file",
        "run_id": run_id, "train_data": "sha256:aa", "holdout_data": "sha256:bb",
        "holdout_sha256": "bb", "target": "y", "exclude": [], "sensitive": "g",
        "task": "classification", "primary_metric": "accuracy", "direction": "maximize",
        "scores": {"accuracy": 0.9}, "groups": None, "schema": {"inputs": [], "outputs": []},
        "deps": {}, "gates": None, "info": {}, "created_by": "ada"})


def test_versions_are_numbered_per_name_and_registered_once(store: Store) -> None:
    store.write([("b1", [version_event("s1"), version_event("s2", "r2", T0 + 1)])])
    store.write([("b2", [version_event("s1")])])  # the same run's same model again
    versions = q.list_versions(store, "churn")
    assert [(v.version, v.sha256) for v in versions] == [(2, "s2"), (1, "s1")]
    assert q.resolve(store, ModelRef("churn", alias="candidate")).version == 2
    assert q.resolve(store, ModelRef("churn")).version == 2
    found = q.version_by_sha(store, "churn", "s1", "r1")
    assert found is not None and found.version == 1 and found.aliases == []
    assert found.created_at == datetime.fromtimestamp(T0, UTC)
    with pytest.raises(NotFound):
        q.resolve(store, ModelRef("churn", 9))
    with pytest.raises(NotFound):
        q.resolve(store, ModelRef("churn", alias="champion"))


def test_alias_moves_keep_their_history(store: Store) -> None:
    store.write([(None, [version_event("s1"), version_event("s2", "r2")])])
    move: dict[str, Any] = {"name": "churn", "alias": "champion", "actor": "ada"}
    store.write([(None, [AliasMoved(**move, to_version=1, ts=T0 + 10, reason="first")])])
    store.write([(None, [AliasMoved(**move, to_version=2, ts=T0 + 20, reason="override",
                                    forced=True)])])
    store.write([(None, [AliasMoved(**move, to_version=2, ts=T0 + 30)])])  # no move: not recorded
    history = q.alias_history(store, "churn", "champion")
    assert [(h.from_version, h.to_version, h.forced, h.reason) for h in history] == [
        (None, 1, False, "first"), (1, 2, True, "override")]
    assert history[0].name == "churn" and history[0].ts == datetime.fromtimestamp(T0 + 10, UTC)
    assert q.aliases(store, "churn") == {"candidate": 2, "champion": 2}


def test_gate_reports_round_trip(store: Store) -> None:
    store.write([(None, [version_event("s1")])])
    report = {"id": "gr-1", "name": "churn", "version": 1, "champion_version": None,
              "passed": False, "failed": ["latency.p95_ms@batch1"], "holdout_data": "sha256:bb",
              "provider": "CPUExecutionProvider", "spec": {}, "info": {"rows": 3},
              "checks": [{"gate": "latency", "name": "p95_ms@batch1", "value": 3.0, "limit": 1.0,
                          "op": "<=", "passed": False, "detail": {"batch_size": 1}}]}
    store.write([(None, [GatesChecked(report=report, ts=T0)])])
    stored = q.gate_report(store, "gr")
    assert stored.failed == ["latency.p95_ms@batch1"] and stored.info == {"rows": 3}
    assert stored.checks == [Check("latency", "p95_ms@batch1", 3.0, 1.0, "<=", False, {"batch_size": 1})]
    latest = q.latest_report(store, "churn", 1)
    assert latest is not None and latest.id == "gr-1"
    assert q.list_versions(store, "churn")[0].gate == GateResult(passed=False, report_id="gr-1")
    verdict = GateVerdict.of(stored)
    assert verdict.gates == {"latency": False} and verdict.evaluation is None
