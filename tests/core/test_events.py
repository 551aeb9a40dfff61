"""The event vocabulary and its codec: every type round-trips, today's wire dicts decode."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.decision_events import DECISION_EVENTS, DecisionChanged, FeedbackScored
from mlopslab.core.errors import EventError, MlopslabError
from mlopslab.core.events import (
    DEPLOYMENT_HAPPENINGS,
    EVENT_TYPES,
    KINDS,
    ActionAudited,
    AliasMoved,
    ArtifactRecorded,
    AttemptArchived,
    DatasetVersioned,
    DeploymentAutoRolledBack,
    DeploymentChanged,
    DeploymentRolledBack,
    DeploymentUndeployed,
    DeploymentVersionServed,
    EvaluationSetAdded,
    Event,
    GatesChecked,
    GatewayRestarted,
    LogsWritten,
    MetricsLogged,
    ModelVersionRegistered,
    ParamsLogged,
    ProjectCreated,
    QuotaChanged,
    ReplicaRestarted,
    RunCreated,
    RunUpdated,
    StepFinished,
    StepStarted,
    TagsSet,
    VersionDeployed,
    VersionFailed,
    WatchPassed,
    event_from_json,
    event_to_json,
)
from mlopslab.core.mlflow_registry import (
    MirrorRunProgressed,
    MirrorVersionMade,
    MlflowAliasSet,
    MlflowModelSaved,
    MlflowVersionSaved,
)
from mlopslab.core.monitor_events import (
    MONITOR_EVENTS,
    AlertAcked,
    AlertDelivered,
    AlertRaised,
    AlertResolved,
    AlertSeen,
    BudgetChanged,
    DriftReferenceProfiled,
    DriftReviewOpened,
    DriftSampled,
    DriftWindowChecked,
    GpuHistoryCompacted,
    GpuSampled,
    ServingScraped,
)
from mlopslab.core.runs import run_update

WIRE = Path(__file__).parent / "wire"
T0 = 1_748_772_900.0
RUN = "250601-101500-ab12"

EXAMPLES: list[Event] = [
    RunCreated(run={"id": RUN, "project": "churn", "recipe": "churn", "recipe_path": "/r",
                    "status": "queued", "user_name": "ada", "created_at": T0}),
    RunUpdated(run_id=RUN, fields={"status": "running", "pid": 42}),
    RunUpdated(run_id=RUN, fields={"status": "failed"}, only_if_status=["queued", "running"]),
    AttemptArchived(run_id=RUN, only_if_status=["failed", "killed"]),
    ParamsLogged(run_id=RUN, params={"lr": 0.1, "deep": True}),
    TagsSet(run_id=RUN, tags={"team": "ml", "old": None}),
    ProjectCreated(name="vision", ts=T0),
    MlflowModelSaved(name="digits", description="d", tags={"team": "ml"}, ts=T0),
    MlflowVersionSaved(name="digits", version=1, source="runs:/abc/model", run_id="abc", ts=T0),
    MlflowAliasSet(name="digits", alias="champion", version=None, ts=T0),
    MirrorRunProgressed(run_id=RUN, mlflow_run_id="abc", params=2, points=300, artifacts=1, ended=True, ts=T0),
    MirrorVersionMade(name="digits", version=1, mlflow_version=3, champion=True, ts=T0),
    DatasetVersioned(run_id=RUN, name="train", hash="md5:00", source="dvc", path="/d.csv",
                     size=10, ts=T0),
    StepStarted(run_id=RUN, name="train", idx=1, cache_key="k" * 64, started_at=T0),
    StepFinished(run_id=RUN, name="train", idx=1, cache_key="k" * 64, status="failed",
                 started_at=T0, ended_at=T0 + 1, error="boom"),
    StepFinished(run_id=RUN, name="split", idx=0, cache_key="c" * 64, status="cached",
                 cached=True, started_at=T0, ended_at=T0),
    MetricsLogged(run_id=RUN, points=[["loss", 0, T0, 0.5], ["loss", 1, T0, None]]),
    LogsWritten(run_id=RUN, lines=[[T0, "stdout", "héllo ☃"]]),
    ArtifactRecorded(run_id=RUN, step="train", name="model.onnx", sha256="ab" * 32, size=3,
                     artifact_kind="model", ts=T0),
    ActionAudited(ts=T0, actor="ada", action="run.submit", target=RUN, detail={"recipe": "r"}),
    QuotaChanged(scope="project", name="churn", limits={"max_gpus": 2}, ts=T0, actor="ada"),
    QuotaChanged(scope="user", name="bob", limits=None, ts=T0, actor=None),
    ModelVersionRegistered(version={"name": "churn", "sha256": "ab" * 32}, ts=T0,
                           aliases=["candidate"]),
    GatesChecked(report={"id": "rep-1", "name": "churn", "checks": []}, ts=T0),
    AliasMoved(name="churn", alias="champion", to_version=None, ts=T0, actor="ada",
               reason="retired", forced=False, report_id=None),
    EvaluationSetAdded(evaluation_set={"name": "churn", "data": "sha256:ff", "sha256": "ff"},
                       ts=T0),
    DeploymentChanged(deployment={"name": "churn", "backend": "process", "status": "serving"},
                      ts=T0, actor="ada"),
    DeploymentVersionServed(deployment="churn", version="2", model_version_id="churn@2",
                            sha256="ab" * 32, ts=T0),
    VersionDeployed(deployment="churn", ts=T0, version="2", from_version="1", switch_s=0.003, actor="ada"),
    DeploymentRolledBack(deployment="churn", ts=T0, version="1", from_version="2", switch_s=0.004,
                         reason="slow", actor="ada"),
    DeploymentAutoRolledBack(deployment="churn", ts=T0, version="1", from_version="2",
                             reason="p99 latency 80.0 ms > 50 ms"),
    VersionFailed(deployment="churn", ts=T0, version="3", reason="it exited", actor="ada"),
    ReplicaRestarted(deployment="churn", ts=T0, version="1", problem="not ready after 90 s"),
    GatewayRestarted(deployment="churn", ts=T0, pid=4242),
    WatchPassed(deployment="churn", ts=T0, version="2"),
    DeploymentUndeployed(deployment="churn", ts=T0, actor="ada"),
    GpuSampled(ts=T0, devices=[[0, "GPU-0", "NVIDIA H100", 90.0, 10, 80, 300.0, 50.0, 1.0]],
               usage=[[0, "NVIDIA H100", "run", RUN, 1.0, 0.9, 300.0, 10]]),
    GpuHistoryCompacted(minute_before=T0, hour_before=T0 - 3600, drop_before=None),
    BudgetChanged(scope="project", name="churn", daily=10.0, monthly=None, hard=True, ts=T0,
                  actor="ada"),
    AlertRaised(id="al-1", rule="idle_gpu", subject=f"run:{RUN}", severity="warning",
                message="idle", detail={"busy_pct": 1.0}, sticky=False, ts=T0),
    AlertSeen(id="al-1", ts=T0, message="idle", count=1),
    AlertResolved(id="al-1", ts=T0),
    AlertAcked(id="al-1", ts=T0, actor="ada"),
    AlertDelivered(id="al-1", channel="webhook", event="raised", ok=False, error="HTTP 500", ts=T0),
    FeedbackScored(id="fb-1", deployment="churn", version="churn@2", ts=T0, data="/f.csv", rows=50,
                   metric="accuracy", value=0.61, threshold=0.9, below=True),
    DecisionChanged(id="dc-1", deployment="churn", decision="retrain", reason="accuracy 0.61",
                    status="retraining", from_version="churn@2", run_id=RUN, ts=T0,
                    detail={"data": {"train": "/new.csv"}}),
    ServingScraped(ts=T0, deployment="churn", version="2", seconds=10.0, requests=100, errors=1,
                   rejected=0, buckets=[[0.001, 40], [0.01, 99], ["+Inf", 100]], latency_sum_s=0.4,
                   queue_depth=0, batches=50, batch_rows=100),
    DriftSampled(ts=T0, deployment="churn", version="2", instance="9f3c", seq=3, first_row=10,
                 rows=[[0.5, 1.0], [0.25, 2.0], [1.5, 1.0]], dropped=1, keep_from=None),
    DriftReferenceProfiled(ts=T0, model_version_id="mv1", source="training data sha256:ab", rows=4,
                           features=[{"name": "tenure", "index": 0, "kind": "categorical", "rows": 4,
                                      "counts": [3, 1], "lo": 0.0, "scale": 0.0, "groups": None,
                                      "categories": [1.0, 2.0]}]),
    DriftWindowChecked(ts=T0, deployment="churn", version="2", model_version_id="mv1", index=0,
                       first_row=0, rows=1000, drifted=True,
                       features=[{"feature": "tenure", "kind": "categorical", "chi2": 30.5,
                                  "chi2_threshold": 6.6, "chi2_p": 1e-8, "p_threshold": 0.01,
                                  "drifted": True}]),
    DriftReviewOpened(ts=T0, id="r1", deployment="churn", version="2", model_version_id="mv1",
                      features=["tenure"], message="deployment churn: inputs drift"),
]
LEGACY = "deployment_event"  # how each deployment happening travelled before it had a type


def _wire_examples() -> list[dict[str, Any]]:
    spooled = [json.loads((WIRE / name).read_text())["events"]
               for name in ("spooled_step_output.json", "spooled_run_progress.json")]
    return [*spooled[0], *spooled[1], *json.loads((WIRE / "service_events.json").read_text())]


def _old_deployment_events() -> list[dict[str, Any]]:
    return [d for d in [*_wire_examples(), *json.loads((WIRE / "deployment_events.json").read_text())]
            if d["kind"] == LEGACY]


def test_every_type_has_an_example() -> None:
    assert {type(e) for e in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_json(event: Event) -> None:
    wire = json.loads(json.dumps(event_to_json(event)))
    assert wire["kind"] == event.kind
    assert event_from_json(wire) == event


@pytest.mark.parametrize("data", [d for d in _wire_examples() if d["kind"] != LEGACY],
                         ids=lambda d: str(d["kind"]))
def test_todays_wire_dicts_decode_and_encode_back_unchanged(data: dict[str, Any]) -> None:
    assert event_to_json(event_from_json(data)) == data


def test_the_wire_examples_cover_every_kind() -> None:
    """Every kind but the deployment happenings, which were all one kind before they had
    types (the old form of each is below), the monitor's, which the lab service makes
    and writes itself (they have no older form), and kinds newer than the recordings."""
    happenings = {cls.kind for cls in DEPLOYMENT_HAPPENINGS}
    monitor = {cls.kind for cls in (*MONITOR_EVENTS, *DECISION_EVENTS)}
    # kinds made after these forms were recorded: no older producer sends them
    newer = {"tags", "project", "mlflow_model", "mlflow_version", "mlflow_alias", "mirror_run", "mirror_version"}
    assert {d["kind"] for d in _wire_examples()} - {LEGACY} == KINDS - happenings - monitor - newer
    assert {d["event"]["kind"] for d in _old_deployment_events()} == happenings


@pytest.mark.parametrize("data", _old_deployment_events(), ids=lambda d: str(d["event"]["kind"]))
def test_an_old_deployment_event_decodes_to_the_type_of_its_happening(data: dict[str, Any]) -> None:
    """Spool files and run processes of an older mlopslab send `deployment_event` with the
    happening nested; it is read as that happening's own type, and today's wire form of
    it is the object the old one nested."""
    event = event_from_json(data)
    assert type(event) in DEPLOYMENT_HAPPENINGS and event.kind == data["event"]["kind"]
    assert event_to_json(event) == data["event"]
    assert event_from_json(data["event"]) == event


def test_an_old_deployment_event_reads_into_typed_fields() -> None:
    old = json.loads((WIRE / "deployment_events.json").read_text())
    assert [event_from_json(d) for d in (old[2], old[6], old[7])] == [
        DeploymentRolledBack(deployment="churn", ts=T0 + 102, version="1", from_version="2",
                             switch_s=0.004, reason="slow", actor="ada"),
        ReplicaRestarted(deployment="churn", ts=T0 + 106, version="2", problem="not ready after 90 s"),
        GatewayRestarted(deployment="churn", ts=T0 + 107, pid=4242)]


def test_an_old_deployment_event_without_a_known_happening_is_a_clear_error() -> None:
    with pytest.raises(EventError, match="carries no deployment happening .* kind is 'exploded'") as info:
        event_from_json({"kind": LEGACY, "event": {"deployment": "churn", "kind": "exploded", "ts": T0},
                         "ts": T0})
    assert info.value.hint is not None and "rolled_back" in info.value.hint
    with pytest.raises(EventError, match="carries no deployment happening"):
        event_from_json({"kind": LEGACY, "ts": T0})
    with pytest.raises(EventError, match="a 'deployed' event lacks version"):
        event_from_json({"kind": LEGACY, "event": {"deployment": "churn", "kind": "deployed"}, "ts": T0})


def test_a_step_event_is_started_or_finished_by_its_status() -> None:
    steps = [event_from_json(d) for d in _wire_examples() if d["kind"] == "step"]
    assert [(type(s).__name__, s.status) for s in steps] == [  # type: ignore[union-attr]
        ("StepStarted", "running"), ("StepFinished", "failed"), ("StepFinished", "cached"),
        ("StepFinished", "finished")]


def test_left_out_keys_stay_left_out() -> None:
    """A run update without a condition, and a started step, carry no null keys."""
    assert event_to_json(RunUpdated(run_id="r", fields={"pid": 1})) == {
        "kind": "run_update", "run_id": "r", "fields": {"pid": 1}}
    assert event_to_json(StepFinished(run_id="r", name="s", idx=0, status="finished")) == {
        "kind": "step", "run_id": "r", "name": "s", "idx": 0, "cache_key": None,
        "status": "finished"}


def test_run_update_puts_on_the_wire_what_it_did_before_it_was_typed() -> None:
    progress = json.loads((WIRE / "spooled_run_progress.json").read_text())["events"]
    final = run_update(RUN, only_active=True, status="failed", reason="boom", error="boom",
                       exit_code=None, ended_at=1748772910.5)
    assert event_to_json(final) == progress[-1]
    assert event_to_json(run_update(RUN, code_version="git:abc123", data_version="sha256:" + "d" * 64,
                                    deps={"python": "3.11"})) == progress[-2]


def test_an_older_event_without_optional_keys_decodes_with_defaults() -> None:
    audit = event_from_json({"kind": "audit", "ts": T0, "action": "run.create"})
    assert audit == ActionAudited(ts=T0, action="run.create", actor=None, target=None, detail={})


def test_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(EventError, match="unknown event kind 'metric'") as info:
        event_from_json({"kind": "metric", "run_id": "r"})
    assert isinstance(info.value, MlopslabError)
    assert info.value.hint is not None and "metrics" in info.value.hint
    with pytest.raises(EventError, match="unknown event kind None"):
        event_from_json({"run_id": "r"})


def test_a_missing_field_is_a_clear_error() -> None:
    with pytest.raises(EventError, match="a 'step' event lacks idx, status"):
        event_from_json({"kind": "step", "run_id": "r", "name": "s"})
    with pytest.raises(EventError, match="a 'evaluation_set' event lacks set"):
        event_from_json({"kind": "evaluation_set", "ts": T0})


def test_an_event_that_is_no_object_is_a_clear_error() -> None:
    with pytest.raises(EventError, match="must be a JSON object, not list"):
        event_from_json(["metrics", "r"])  # type: ignore[arg-type]


def test_a_batch_of_10000_points_encodes_and_decodes_well_under_10_ms() -> None:
    batch: list[Event] = [
        MetricsLogged(run_id=RUN, points=[["loss", i, T0 + i, i / 3] for i in range(10_000)]),
        LogsWritten(run_id=RUN, lines=[[T0, "stdout", "a line"]] * 100),
        StepFinished(run_id=RUN, name="train", idx=1, status="finished", cached=False)]
    best = min(_timed(batch) for _ in range(20))
    assert best < 0.002, f"encode+decode took {best * 1000:.3f} ms"


def _timed(batch: list[Event]) -> float:
    start = time.perf_counter()
    decoded = [event_from_json(event_to_json(e)) for e in batch]
    elapsed = time.perf_counter() - start
    assert decoded == batch
    return elapsed
