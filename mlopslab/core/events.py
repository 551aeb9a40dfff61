"""What happened, as the store records it: one frozen type per event, and their codec.

Run processes, steps and the lab service describe every change of the store as events
(`MetricsLogged`, `RunUpdated`, `AliasMoved`, ...); the service's group writer applies
a batch of them in one transaction (store/writes.py). On the wire (the `write`
operation, spool files) an event is a JSON object with a `kind` key; `event_to_json`
and `event_from_json` are the only place that knows that format:

    kind                wire keys (besides kind)                              type
    run_created         run                                                   RunCreated
    run_update          run_id, fields, [only_if_status]                      RunUpdated
    attempt_archived    run_id, only_if_status                                AttemptArchived
    params              run_id, params                                        ParamsLogged
    tags                run_id, tags (a null value removes the tag)           TagsSet
    project             name, ts                                              ProjectCreated
    dataset             run_id, name, hash, source, path, size, ts            DatasetVersioned
    step                run_id, name, idx, cache_key, status, [cached,        StepStarted (status
                        started_at, ended_at, error]                          running), StepFinished
    metrics             run_id, points: [[key, step, ts, value], ...]          MetricsLogged
                        or points as columns (core/point_columns.py)
    logs                run_id, lines: [[ts, stream, line], ...]               LogsWritten
    artifact            run_id, step, name, sha256, size, artifact_kind, ts   ArtifactRecorded
    audit               ts, actor, action, target, detail                     ActionAudited
    quota               scope, name, limits (null: removed), ts, actor        QuotaChanged
    model_version       version, ts, aliases                                  ModelVersionRegistered
    gate_report         report, ts                                            GatesChecked
    alias_move          name, alias, to_version, ts, actor, reason, forced,   AliasMoved
                        report_id
    evaluation_set      set, ts                                               EvaluationSetAdded
    deployment          deployment, ts, actor                                 DeploymentChanged
    deployment_version  deployment, version, model_version_id, sha256, ts     DeploymentVersionServed

What happens to a deployment has a kind of its own, the one its row in the store's
deployment_events keeps (deploy/events.py says each in words):

    deployed            deployment, ts, version, from_version, switch_s,      VersionDeployed
                        actor
    rolled_back         deployment, ts, version, from_version, switch_s,      DeploymentRolledBack
                        reason, actor
    auto_rollback       deployment, ts, version, from_version, reason, actor  DeploymentAutoRolledBack
    version_failed      deployment, ts, version, reason, actor                VersionFailed
    replica_restarted   deployment, ts, version, problem, actor               ReplicaRestarted
    gateway_restarted   deployment, ts, pid, actor                            GatewayRestarted
    watch_passed        deployment, ts, version, actor                        WatchPassed
    undeployed          deployment, ts, actor                                 DeploymentUndeployed

Older producers sent all of these as one kind, `deployment_event`, with keys `event`
(the same object as above, its `kind` among them) and `ts`; spool files and run
processes of that version may still send it, so it is read into the types above.

The monitor's events (GPU readings, budgets, alerts, drift) are in
core/monitor_events.py and the decisions' (feedback, retraining) in
core/decision_events.py, with their wire keys; they are part of `Event` and of this
codec.

Keys in [brackets] are left out when they are None, as today's producers do. A field
with a default may be missing from a decoded object (older producers left it out);
a field without one must be there. Keys this version does not know are ignored.
Bulk payloads (metric points, log lines) stay the lists they are on the wire: no
object per point, so a batch of 10,000 points encodes and decodes in microseconds.
The nested records (a run row, a model version, a gate report, a deployment) stay
mappings here; they are the store's rows, typed where they are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from mlopslab.core.decision_events import DECISION_EVENTS, DecisionEvent
from mlopslab.core.errors import EventError
from mlopslab.core.mlflow_registry import MLFLOW_EVENTS, MlflowEvent
from mlopslab.core.monitor_events import MONITOR_EVENTS, MonitorEvent
from mlopslab.core.point_columns import PointColumns

Json = dict[str, Any]
Point = Sequence[Any]  # [key, step, epoch seconds, value or None]
Line = Sequence[Any]  # [epoch seconds, stream, text]

# runs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCreated:
    kind: ClassVar[str] = "run_created"
    run: Mapping[str, Any]  # the new row: id, project, recipe, status, created_at, ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RunUpdated:
    """Some of a run's fields changed; with `only_if_status`, only while it is in one of
    those (so a final status, once written, stays)."""

    kind: ClassVar[str] = "run_update"
    sparse: ClassVar[frozenset[str]] = frozenset({"only_if_status"})
    run_id: str
    fields: Mapping[str, Any]
    only_if_status: Sequence[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptArchived:
    """The run's current attempt was copied to its history (before a resume resets it)."""

    kind: ClassVar[str] = "attempt_archived"
    run_id: str
    only_if_status: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamsLogged:
    kind: ClassVar[str] = "params"
    run_id: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectCreated:
    """A project made before any run of it (MLflow's create-experiment); nothing if it exists."""

    kind: ClassVar[str] = "project"
    name: str
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TagsSet:
    """Tags of a run set (a tag already there takes the new value; None removes it)."""

    kind: ClassVar[str] = "tags"
    run_id: str
    tags: Mapping[str, str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetVersioned:
    """A data input of a run was hashed (its DVC md5 or its content's sha256)."""

    kind: ClassVar[str] = "dataset"
    run_id: str
    name: str
    hash: str
    source: str
    path: str
    size: int | None = None
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted:
    kind: ClassVar[str] = "step"
    run_id: str
    name: str
    idx: int
    cache_key: str | None = None
    started_at: float | None = None

    @property
    def status(self) -> str:
        return "running"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFinished:
    """A step ended: finished, failed, or cached (its output came from the step cache)."""

    kind: ClassVar[str] = "step"
    sparse: ClassVar[frozenset[str]] = frozenset({"cached", "started_at", "ended_at", "error"})
    run_id: str
    name: str
    idx: int
    status: str
    cache_key: str | None = None
    cached: bool | None = None
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsLogged:
    kind: ClassVar[str] = "metrics"
    run_id: str
    points: Sequence[Point] | PointColumns


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsWritten:
    kind: ClassVar[str] = "logs"
    run_id: str
    lines: Sequence[Line]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactRecorded:
    kind: ClassVar[str] = "artifact"
    run_id: str
    step: str | None = None
    name: str
    sha256: str
    size: int
    artifact_kind: str = "artifact"
    ts: float


# the lab ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionAudited:
    """Someone (a user, the watchdog, auto-register) did something worth a record."""

    kind: ClassVar[str] = "audit"
    ts: float
    actor: str | None = None
    action: str
    target: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaChanged:
    """The stored quota of a project or user was set (`limits`) or removed (None)."""

    kind: ClassVar[str] = "quota"
    scope: str
    name: str
    limits: Mapping[str, Any] | None = None
    ts: float
    actor: str | None = None


# the registry -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelVersionRegistered:
    """A model version was registered; the store numbers it in the transaction."""

    kind: ClassVar[str] = "model_version"
    version: Mapping[str, Any]
    ts: float
    aliases: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GatesChecked:
    kind: ClassVar[str] = "gate_report"
    report: Mapping[str, Any]  # id, name, version, passed, checks, ...
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasMoved:
    """An alias of a model now points at `to_version` (None: the alias was removed)."""

    kind: ClassVar[str] = "alias_move"
    name: str
    alias: str
    to_version: int | None = None
    ts: float
    actor: str | None = None
    reason: str | None = None
    forced: bool = False
    report_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationSetAdded:
    kind: ClassVar[str] = "evaluation_set"
    wire: ClassVar[Mapping[str, str]] = {"evaluation_set": "set"}
    evaluation_set: Mapping[str, Any]  # name, data, sha256, rows, source, reason, actor
    ts: float


# deployments ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentChanged:
    """A deployment's row: its backend, endpoint, versions and status now."""

    kind: ClassVar[str] = "deployment"
    deployment: Mapping[str, Any]
    ts: float
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentVersionServed:
    kind: ClassVar[str] = "deployment_version"
    deployment: str
    version: str
    model_version_id: str | None = None
    sha256: str | None = None
    ts: float


# what happened to a deployment (deploy/deployments.py and the gateway make these) ------


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionDeployed:
    """Traffic moved to `version`; `from_version`, if there was one, stays warm for rollback."""

    kind: ClassVar[str] = "deployed"
    deployment: str
    ts: float
    version: str
    from_version: str | None = None
    switch_s: float | None = None  # how long the gateway's switch took
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRolledBack:
    """Someone sent traffic back to the previous version (`version` serves now)."""

    kind: ClassVar[str] = "rolled_back"
    deployment: str
    ts: float
    version: str | None = None
    from_version: str | None = None
    switch_s: float | None = None
    reason: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentAutoRolledBack:
    """The gateway's watch found `from_version` breaking its policy and went back to `version`."""

    kind: ClassVar[str] = "auto_rollback"
    deployment: str
    ts: float
    version: str
    from_version: str
    reason: str
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionFailed:
    """A new version never became ready; traffic stayed where it was."""

    kind: ClassVar[str] = "version_failed"
    deployment: str
    ts: float
    version: str
    reason: str
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaRestarted:
    """Supervision restarted the stopped replica of `version`; `problem` if it is not ready."""

    kind: ClassVar[str] = "replica_restarted"
    deployment: str
    ts: float
    version: str
    problem: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRestarted:
    """Supervision restarted the stopped gateway (on the same port); `pid` is the new one's."""

    kind: ClassVar[str] = "gateway_restarted"
    deployment: str
    ts: float
    pid: int
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchPassed:
    """`version` took traffic for the whole watch window without breaking its policy."""

    kind: ClassVar[str] = "watch_passed"
    deployment: str
    ts: float
    version: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentUndeployed:
    """The deployment's gateway and replicas were stopped and its files removed."""

    kind: ClassVar[str] = "undeployed"
    deployment: str
    ts: float
    actor: str | None = None


DeploymentHappening = (
    VersionDeployed | DeploymentRolledBack | DeploymentAutoRolledBack | VersionFailed
    | ReplicaRestarted | GatewayRestarted | WatchPassed | DeploymentUndeployed
)
DEPLOYMENT_HAPPENINGS: tuple[type[DeploymentHappening], ...] = (
    VersionDeployed, DeploymentRolledBack, DeploymentAutoRolledBack, VersionFailed,
    ReplicaRestarted, GatewayRestarted, WatchPassed, DeploymentUndeployed,
)

Event = (
    RunCreated | RunUpdated | AttemptArchived | ParamsLogged | TagsSet | ProjectCreated | DatasetVersioned
    | StepStarted
    | StepFinished | MetricsLogged | LogsWritten | ArtifactRecorded | ActionAudited | QuotaChanged
    | ModelVersionRegistered | GatesChecked | AliasMoved | EvaluationSetAdded | DeploymentChanged
    | DeploymentVersionServed | DeploymentHappening | MonitorEvent | DecisionEvent | MlflowEvent
)
EVENT_TYPES: tuple[type[Event], ...] = (
    RunCreated, RunUpdated, AttemptArchived, ParamsLogged, TagsSet, ProjectCreated, DatasetVersioned,
    StepStarted,
    StepFinished, MetricsLogged, LogsWritten, ArtifactRecorded, ActionAudited, QuotaChanged,
    ModelVersionRegistered, GatesChecked, AliasMoved, EvaluationSetAdded, DeploymentChanged,
    DeploymentVersionServed, *DEPLOYMENT_HAPPENINGS, *MONITOR_EVENTS, *DECISION_EVENTS, *MLFLOW_EVENTS,
)


# the codec --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shape:
    """How one type travels: (attribute, wire key) pairs, which are required, which are
    left out when None."""

    keys: tuple[tuple[str, str], ...]
    required: frozenset[str]
    sparse: frozenset[str]


def _shape(cls: type[Any]) -> _Shape:
    wire: Mapping[str, str] = getattr(cls, "wire", {})
    found = fields(cls)
    keys = tuple((f.name, wire.get(f.name, f.name)) for f in found)
    required = frozenset(key for f, (_, key) in zip(found, keys, strict=True)
                         if f.default is MISSING and f.default_factory is MISSING)
    return _Shape(keys, required, frozenset(getattr(cls, "sparse", ())))


_SHAPES: dict[type[Any], _Shape] = {cls: _shape(cls) for cls in EVENT_TYPES}


# a step's two events share the wire kind `step`; its status tells them apart
_BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in EVENT_TYPES if cls is not StepStarted}
KINDS = frozenset(_BY_KIND)
_HAPPENINGS = frozenset(cls.kind for cls in DEPLOYMENT_HAPPENINGS)
# how every deployment happening travelled before each had a type: {kind, event, ts}, where
# `event` is the happening's own wire form (its kind, deployment, ts, ...)
LEGACY_DEPLOYMENT_EVENT = "deployment_event"


def event_to_json(event: Event) -> Json:
    """The wire form of `event`: today's dict with its `kind` (lists are shared, not copied)."""
    shape = _SHAPES[type(event)]
    data: Json = {"kind": event.kind}
    for attr, key in shape.keys:
        value = getattr(event, attr)
        if value is not None or key not in shape.sparse:
            data[key] = value.to_json() if isinstance(value, PointColumns) else value
    if isinstance(event, StepStarted):
        data["status"] = "running"
    return data


def event_from_json(data: Mapping[str, Any]) -> Event:
    """The event that `data` (a wire dict) describes; EventError when it cannot be read."""
    if not isinstance(data, Mapping):
        raise EventError(f"an event must be a JSON object, not {type(data).__name__}")
    kind = data.get("kind")
    if kind == LEGACY_DEPLOYMENT_EVENT:
        return _legacy_deployment_event(data)
    cls = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventError(f"unknown event kind {kind!r}",
                         f"this version knows: {', '.join(sorted(KINDS))}")
    if cls is StepFinished and data.get("status") == "running":
        cls = StepStarted
    return _decoded(cls, data)


def _legacy_deployment_event(data: Mapping[str, Any]) -> Event:
    """The deployment happening an older producer's `deployment_event` carries."""
    nested = data.get("event")
    kind = nested.get("kind") if isinstance(nested, Mapping) else None
    if not isinstance(nested, Mapping) or kind not in _HAPPENINGS:
        raise EventError(f"a '{LEGACY_DEPLOYMENT_EVENT}' event carries no deployment happening "
                         f"(its event's kind is {kind!r})",
                         f"this version knows: {', '.join(sorted(_HAPPENINGS))}")
    if "ts" not in nested and "ts" in data:
        nested = {**nested, "ts": data["ts"]}
    return _decoded(_BY_KIND[kind], nested)


def _decoded(cls: type[Event], data: Mapping[str, Any]) -> Event:
    shape = _SHAPES[cls]
    missing = [key for key in shape.required if key not in data]
    if missing:
        raise EventError(f"a '{cls.kind}' event lacks {', '.join(sorted(missing))}",
                         f"it carries: {', '.join(sorted(k for k in data if k != 'kind'))}")
    found = {attr: data[key] for attr, key in shape.keys if key in data}
    if cls is MetricsLogged and isinstance(found["points"], Mapping):
        found["points"] = PointColumns.from_json(found["points"])
    return cls(**found)


def events_to_json(events: Sequence[Event]) -> list[Json]:
    return [event_to_json(e) for e in events]


def events_from_json(data: Sequence[Mapping[str, Any]]) -> list[Event]:
    return [event_from_json(d) for d in data]
