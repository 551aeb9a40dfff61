"""A run as the lab records it, and what it logged: the nouns of the runs operations.

The store builds them (store/db.py), the service returns them, the client rebuilds
them from the wire, and the CLI and the TUI show their attributes. Timestamps are
aware datetimes in UTC. Maps whose keys the recipe or the user chooses (params,
metrics, provenance) stay JSON objects: that is their type. A run's resources and
settings have keys mlopslab fixes: they are `RunResources` and `RunSettings`, stored
as JSON objects (`from_json`, `to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

GpuIds = list[int | str]  # as Ray names them: indexes, or ids in CUDA_VISIBLE_DEVICES


@dataclass(frozen=True)
class RunResources:
    """What each step of a run may use: the recipe's [resources] (core/recipe.py parses
    them) with the run's overrides and the scheduler's default time limit. Ray places
    cpus, gpus and memory_gb; mlopslab stops a run over its time_limit, gpu_memory_gb
    or memory_gb (None: no such limit)."""

    cpus: float = 1.0
    gpus: float = 0.0  # a fraction (0.5) shares a GPU
    gpu_memory_gb: float | None = None
    memory_gb: float | None = None
    time_limit: str | None = None  # a duration as written: "2h", "3600s"

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RunResources:
        """From the stored JSON object: a key an older row lacks (or a null row) takes
        its default, a key this version does not know is ignored."""
        given = {k: v for k, v in (data or {}).items() if k in _RESOURCES and v not in (None, "")}
        typed: dict[str, Any] = {k: str(v) if k == "time_limit" else float(v) for k, v in given.items()}
        return cls(**typed)

    def to_json(self) -> dict[str, Any]:
        """The JSON object the store keeps (and a RunCreated row carries)."""
        return asdict(self)

    def filled_from(self, base: RunResources) -> RunResources:
        """These resources, with `base`'s limit for each limit these leave unset (None)."""
        unset = {k: getattr(base, k) for k in _LIMITS if getattr(self, k) is None}
        return replace(self, **unset)


@dataclass(frozen=True)
class RunSettings:
    """How a run runs, besides its params and resources (the store's `options` column):
    `from_scratch` runs every step again instead of reusing cached outputs, `data` maps
    a data input's name to the file used instead of the recipe's, `ray_address` is the
    Ray cluster it runs on (None: the lab's). `kind` says what the run is: `recipe` (a
    recipe's steps), `script` (a Python script run through the queue by `mlopslab run
    FILE.py`, with `args` and from folder `cwd`) or `tracked` (code that called
    `mlopslab.start_run` in its own process)."""

    from_scratch: bool = False
    data: dict[str, str] = field(default_factory=dict)
    ray_address: str | None = None
    kind: str = "recipe"
    args: tuple[str, ...] = ()
    cwd: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RunSettings:
        """From the stored JSON object: missing keys take their defaults, unknown ones are
        ignored."""
        d = data or {}
        paths = d.get("data")
        args = d.get("args")
        return cls(from_scratch=bool(d.get("from_scratch", False)),
                   data={str(k): str(v) for k, v in paths.items()} if isinstance(paths, Mapping) else {},
                   ray_address=str(d["ray_address"]) if d.get("ray_address") else None,
                   kind=str(d.get("kind") or "recipe"),
                   args=tuple(str(a) for a in args) if isinstance(args, list | tuple) else (),
                   cwd=str(d["cwd"]) if d.get("cwd") else None)

    def to_json(self) -> dict[str, Any]:
        """The JSON object the store keeps (and a RunCreated row carries); a recipe run's is
        what it was before runs had kinds (`kind`, `args` and `cwd` only when set)."""
        found = asdict(self)
        found["args"] = list(self.args)
        for key, default in (("kind", "recipe"), ("args", []), ("cwd", None)):
            if found[key] == default:
                del found[key]
        return found


_RESOURCES = frozenset(f.name for f in fields(RunResources))
_LIMITS = ("gpu_memory_gb", "memory_gb", "time_limit")


@dataclass(frozen=True)
class RunInput:
    """A data input a run read: its name in the recipe, its content hash, where it was."""

    name: str
    hash: str
    source: str | None
    path: str | None


@dataclass(frozen=True)
class RunStep:
    """One step of a run's plan, as far as it got."""

    name: str
    idx: int
    status: str
    cached: bool | None
    cache_key: str | None
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class RunArtifact:
    """A file a run produced, in the content-addressed artifact store."""

    path: str
    sha256: str
    size: int
    kind: str | None
    step: str | None


@dataclass(frozen=True)
class Attempt:
    """One attempt of a run: the earlier ones as they ended (with the last log line each
    wrote), the current one as the run is now (`last_log_seq` None)."""

    attempt: int
    status: str
    reason: str | None
    error: str | None
    exit_code: int | None
    host: str | None
    gpu_ids: GpuIds | None
    queued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    last_log_seq: int | None = None


@dataclass(frozen=True)
class Run:
    """A run: what it ran, with what, where, how it went, and its last metric values.

    `inputs`, `steps`, `artifacts` and `attempts` are None in a list of runs and filled
    in for one run asked by id (`get_run`).
    """

    id: str
    project: str
    recipe: str
    recipe_path: str
    status: str
    reason: str | None
    user_name: str | None
    seed: int | None
    params: dict[str, Any] | None
    resources: RunResources
    options: RunSettings
    code_version: str | None
    data_version: str | None
    deps: dict[str, Any] | None
    host: str | None
    gpu_ids: GpuIds | None
    pid: int | None
    attempt: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None
    queued_at: datetime | None
    priority: int | None
    worker_pid: int | None
    exit_code: int | None
    metrics: dict[str, float | None] = field(default_factory=dict)  # last value of each
    tags: dict[str, str] | None = None  # filled in for one run asked by id
    inputs: tuple[RunInput, ...] | None = None
    steps: tuple[RunStep, ...] | None = None
    artifacts: tuple[RunArtifact, ...] | None = None
    attempts: tuple[Attempt, ...] | None = None

    @property
    def user(self) -> str | None:
        """Who the run is accounted to (`user_name` in the store)."""
        return self.user_name

    @property
    def waiting_since(self) -> datetime:
        """When it joined the queue (a run from before the queue: when it was made)."""
        return self.queued_at or self.created_at


@dataclass(frozen=True)
class RunSpec:
    """What `submit_run` takes: a recipe (or a script: `options.kind`), its resolved params
    and overrides (mlopslab/runspecs.py builds them, after every check)."""

    recipe: str
    recipe_path: str
    project: str
    seed: int | None  # None: a script run without --seed
    params: dict[str, Any]
    resources: RunResources
    options: RunSettings = field(default_factory=RunSettings)
    user: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class Project:
    """A project: runs are accounted to one (MLflow's experiments are projects)."""

    name: str
    created_at: datetime
    runs: int  # runs in it


@dataclass(frozen=True)
class TrackedRunSpec:
    """What `start_tracked_run` takes: code that called `mlopslab.start_run` in its own
    process (mlopslab/exec/tracking.py fills it in). The run starts `running` at once,
    outside the queue, and is ended by that process (or marked `killed` when it dies)."""

    name: str  # shown where a recipe's name is: the name given, else the script's file name
    path: str  # the calling script ("" for a notebook or `python -c`)
    project: str
    pid: int | None  # None: no process to watch (a run made through the MLflow API)
    host: str | None
    user: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    code_version: str | None = None
    deps: dict[str, Any] | None = None
    gpu_ids: list[str] = field(default_factory=list)  # CUDA_VISIBLE_DEVICES of the process
    cwd: str | None = None
    kind: str = "tracked"  # or "mlflow": made through the MLflow-compatible API (mlflow_compat/)
    started_at: float | None = None  # epoch seconds (None: now)


@dataclass(frozen=True)
class ImportedRun:
    """What `import_run` takes: a run of another tracker (MLflow) under its own id, with
    its own status and times (mlflow_compat/importer.py). Importing it again updates it."""

    id: str
    project: str
    name: str
    status: str  # a lab status: running, finished, failed, killed
    source: str  # where it came from, e.g. the MLflow tracking URI
    created_at: float  # epoch seconds
    started_at: float | None = None
    ended_at: float | None = None
    user: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a metric."""

    key: str
    step: int
    ts: datetime
    value: float | None


@dataclass(frozen=True)
class LogLine:
    """One line of a run's log; `stream` is stdout, stderr, logging or mlopslab."""

    seq: int
    ts: datetime
    stream: str | None
    line: str | None


@dataclass(frozen=True)
class RunFields:
    """What a run table can show and filter on: every metric and param name in the lab,
    sorted, and how many runs have each status."""

    metrics: list[str]
    params: list[str]
    statuses: dict[str, int]
