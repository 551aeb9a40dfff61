"""Registry facts in a real DuckDB store: version numbers, aliases and history, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlopslab.api import registry as api
from mlopslab.api.wire import parse_reply_line, plain, reply_line
from mlopslab.core.errors import NotFound
from mlopslab.core.events import AliasMoved, GatesChecked, ModelVersionRegistered
from mlopslab.core.gate_reports import GateReportInfo, GateVerdict
from mlopslab.core.gates import Check, GatesSpec
from mlopslab.core.model_versions import FeatureSchema, GateResult, ModelVersionDetail, Tensor, VersionInfo
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
    assert stored.failed == ["latency.p95_ms@batch1"] and stored.info == GateReportInfo(rows=3)
    assert stored.spec == GatesSpec()
    assert stored.checks == [Check("latency", "p95_ms@batch1", 3.0, 1.0, "<=", False, {"batch_size": 1})]
    latest = q.latest_report(store, "churn", 1)
    assert latest is not None and latest.id == "gr-1"
    assert q.list_versions(store, "churn")[0].gate == GateResult(passed=False, report_id="gr-1")
    verdict = GateVerdict.of(stored)
    assert verdict.gates == {"latency": False} and verdict.evaluation is None


def test_an_old_version_row_loads_into_typed_documents_with_what_it_has(store: Store) -> None:
    """A row written before train_rows and nonfinite were recorded, with keys this mlopslab
    does not know: it loads, lacks what it lacked (in its JSON too), and crosses the wire."""
    event = version_event("s1")
    old = {**event.version,
           "schema": {"inputs": [{"name": "x", "type": "tensor(float)", "shape": [None, 3], "doc": "?"}]},
           "gates": {"latency": {"p95_ms": 5.0, "percentile_method": "linear"}, "drift": {}},
           "info": {"recipe": "tabular", "provider": "CPUExecutionProvider", "rows": 5, "legacy": True}}
    store.write([(None, [ModelVersionRegistered(version=old, ts=T0, aliases=["candidate"])])])
    version = q.get_version(store, "churn", 1)
    assert version.schema == FeatureSchema(inputs=[Tensor("x", "tensor(float)", [None, 3])])
    assert version.gates is not None and version.gates.latency.p95_ms == 5.0 and version.gates.bias is None
    assert version.info == VersionInfo(recipe="tabular", provider="CPUExecutionProvider", rows=5)
    assert version.info.train_rows is None and version.info.run_metrics is None
    assert plain(version)["info"] == {"recipe": "tabular", "provider": "CPUExecutionProvider", "rows": 5}
    detail = ModelVersionDetail.of(version, [], None)
    back = parse_reply_line(api.MODEL_VERSION, reply_line(api.MODEL_VERSION, detail)).result
    assert back == detail


def test_an_old_gate_report_row_loads_without_what_it_never_measured(store: Store) -> None:
    """A report of a candidate that did not load, from before evaluation sets: rows only."""
    store.write([(None, [version_event("s1")])])
    report = {"id": "gr-0", "name": "churn", "version": 1, "champion_version": None, "passed": False,
              "failed": ["integrity.loads"], "holdout_data": "sha256:bb", "provider": None,
              "spec": {"integrity": {"allow_schema_change": True}, "retired": 1},
              "info": {"rows": 7, "evaluation": {"set": 1}}, "checks": []}
    store.write([(None, [GatesChecked(report=report, ts=T0)])])
    stored = q.gate_report(store, "gr-0")
    assert stored.info == GateReportInfo(rows=7) and stored.evaluation_used() is None
    assert stored.spec is not None and stored.spec.integrity.allow_schema_change
    assert plain(stored)["info"] == {"rows": 7}
