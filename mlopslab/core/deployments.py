"""Deployments as the lab shows them: how one serves and is watched, its gateway and
replicas now, what happened to it, and the answers of deploy, rollback and undeploy.

What runs is kept in files by mlopslab/deploy (deployments.py makes these nouns from
them); history comes from the store (store/deployment_writes.py). Times read from a
deployment's files are epoch seconds; times read from the store are ISO 8601 text in
UTC, as `--json` has always printed them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from mlopslab.core.events import DeploymentHappening

HEALTHS = ("starting", "endpoint down", "active down", "watching", "serving")


@dataclass(frozen=True)
class ServingOptions:
    """How each replica serves: batching, queue, and its resource limits."""

    max_batch_size: int = 32
    max_wait_ms: float = 2.0
    max_queue: int = 256
    device: str = "auto"  # auto, cpu, cuda
    gpus: int = 0  # docker: GPUs requested from the engine (-1: all)
    memory_mb: int = 1024  # docker: memory limit
    cpus: float = 1.0  # docker: CPU limit
    sample_rate: float = 1.0  # share of input rows each replica keeps for the drift checks (0: none)

    def server_args(self) -> list[str]:
        return ["--max-batch-size", str(self.max_batch_size), "--max-wait-ms", str(self.max_wait_ms),
                "--max-queue", str(self.max_queue), "--device", self.device,
                "--sample-rate", str(self.sample_rate)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WatchPolicy:
    """A new version is rolled back automatically when, within `window_s` of taking
    traffic, its error rate or p99 latency breaks these limits, or its readiness
    check fails `health_failures` times in a row."""

    window_s: float = 60.0
    max_error_rate: float = 0.05  # 5xx and broken connections over all answered requests
    p99_ms: float | None = None  # None: no latency SLO
    min_requests: int = 20  # judge rates only over at least this many requests
    health_interval_s: float = 1.0
    health_failures: int = 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WatchPolicy:
        return cls(**(data or {}))


@dataclass(frozen=True)
class VersionTraffic:
    """What the gateway saw for one version since it last took traffic."""

    requests: int = 0
    errors: int = 0
    p99_ms: float | None = None


@dataclass(frozen=True)
class GatewayStatus:
    """The deployment's stable endpoint process: alive, watching a new version, traffic seen."""

    pid: int | None
    alive: bool
    watching: bool
    stats: dict[str, VersionTraffic]  # by version; empty when the gateway does not answer


@dataclass(frozen=True, kw_only=True)
class ReplicaStatus:
    """One version's model server: its internal address, role and whether it answers."""

    backend: str
    handle: str  # a pid or a container id
    version: str
    url: str  # internal: calling it bypasses blue/green and rollback
    port: int
    started_at: float | None = None  # epoch seconds
    restarts: int = 0  # by supervision, after it had stopped
    role: str  # active, previous (warm for rollback) or stopped
    model_sha256: str | None = None
    internal: bool = True
    alive: bool


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """One deployment as it runs now (`deployments ls`, and what deploy answers)."""

    name: str
    backend: str
    model: str  # the model name
    endpoint: str  # the stable address clients call
    port: int
    status: str  # starting (its first deploy is under way) or created
    active_version: str | None
    previous_version: str | None
    gateway: GatewayStatus
    replicas: list[ReplicaStatus]
    options: ServingOptions
    policy: WatchPolicy
    created_at: float  # epoch seconds
    updated_at: float

    def traffic(self) -> VersionTraffic:
        """What the gateway saw for the active version."""
        return self.gateway.stats.get(self.active_version or "", VersionTraffic())

    def health(self) -> str:
        """One of HEALTHS: starting, endpoint down, active down, watching or serving."""
        active = [r for r in self.replicas if r.role == "active"]
        if self.status == "starting":
            return "starting"
        if not self.gateway.alive:
            return "endpoint down"
        if not active or not all(r.alive for r in active):
            return "active down"
        return "watching" if self.gateway.watching else "serving"

    def serving(self) -> bool:
        """The endpoint answers and some active replica is up (the store's `serving`, else `degraded`)."""
        return self.gateway.alive and any(r.alive for r in self.replicas if r.role == "active")


@dataclass(frozen=True, kw_only=True)
class DeploymentEvent:
    """One thing that happened to a deployment, as the store keeps it (deploy/events.py says it)."""

    deployment: str
    ts: str  # ISO 8601, UTC
    kind: str  # deployed, rolled_back, auto_rollback, version_failed, replica_restarted, ...
    version: str | None = None  # the version that serves now, or the one it is about
    from_version: str | None = None
    actor: str | None = None
    reason: str | None = None
    seconds: float | None = None  # how long a switch took
    info: dict[str, object] = field(default_factory=dict)  # the rest, by kind (pid, problem, ...)

    @classmethod
    def of(cls, happened: DeploymentHappening) -> DeploymentEvent:
        """The row the store keeps for HAPPENED (core/events.py): its fields that are no
        column of their own (a restarted gateway's pid, a replica's problem) go to `info`."""
        values = {f.name: getattr(happened, f.name) for f in fields(happened)}
        return cls(deployment=happened.deployment, kind=happened.kind,
                   ts=datetime.fromtimestamp(happened.ts, UTC).isoformat(),
                   version=_text(values.get("version")), from_version=_text(values.get("from_version")),
                   actor=happened.actor, reason=values.get("reason"), seconds=values.get("switch_s"),
                   info={k: v for k, v in values.items() if k not in _COLUMNS})


_COLUMNS = frozenset({"deployment", "ts", "version", "from_version", "actor", "reason", "switch_s"})


@dataclass(frozen=True)
class DeployedVersion:
    """A model version a deployment has served (lineage: model version -> deployment)."""

    version: str
    model_version_id: str | None
    sha256: str | None
    first_deployed_at: str  # ISO 8601, UTC


@dataclass(frozen=True, kw_only=True)
class DeploymentDetail(Deployment):
    """One deployment with its recent history (`deployments show`)."""

    events: list[DeploymentEvent]  # newest first
    versions: list[DeployedVersion]  # in the order first served

    @classmethod
    def of(cls, deployment: Deployment, events: list[DeploymentEvent],
           versions: list[DeployedVersion]) -> DeploymentDetail:
        return cls(**_fields(deployment), events=events, versions=versions)


@dataclass(frozen=True, kw_only=True)
class RolledBack(Deployment):
    """The deployment after a rollback, and how long the switch took."""

    rollback_s: float

    @classmethod
    def of(cls, deployment: Deployment, rollback_s: float) -> RolledBack:
        return cls(**_fields(deployment), rollback_s=rollback_s)


@dataclass(frozen=True)
class Undeployed:
    """The answer of undeploy: the deployment's endpoint and replicas are gone."""

    name: str
    undeployed: bool = True


def _fields(deployment: Deployment) -> dict[str, Any]:
    """The fields a Deployment has (not copied deeper), to make one of its subclasses."""
    return {f.name: getattr(deployment, f.name) for f in fields(Deployment)}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
