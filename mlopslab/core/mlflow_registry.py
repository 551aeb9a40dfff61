"""MLflow's model registry as its client knows it (registered models, versions, aliases),
kept by the lab for code that calls `mlflow` (mlflow_compat/, docs/mlflow.md). These are
MLflow's entities, stored as MLflow has them: no ONNX check, no holdout, no gates. The
lab's own gated registry (core/model_versions.py) is apart; a version is promoted there
only through its gates.

    kind            wire keys (besides kind)
    mlflow_model    name, description, tags, ts
    mlflow_version  name, version, source, run_id, status, description, tags, user, ts
    mlflow_alias    name, alias, version (null: removed), ts
    mirror_run      run_id, mlflow_run_id, params, points, artifacts, ended, ts
    mirror_version  name, version, mlflow_version, champion, ts

The last two are the mirror's progress ([mlflow] mirror_uri: service/mlflow_mirror.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

STATUS_TO_MLFLOW = {"queued": "SCHEDULED", "starting": "SCHEDULED", "running": "RUNNING",
                    "finished": "FINISHED", "failed": "FAILED", "timed_out": "FAILED",
                    "killed": "KILLED", "cancelled": "KILLED"}
STATUS_FROM_MLFLOW = {"RUNNING": "running", "SCHEDULED": "running", "FINISHED": "finished",
                      "FAILED": "failed", "KILLED": "killed"}


def param_text(value: Any) -> str:
    """A param as MLflow keeps it: a string (numbers as Python writes them, others as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowModelSaved:
    """A registered model made or changed (its description and tags as they are now)."""

    kind: ClassVar[str] = "mlflow_model"
    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowVersionSaved:
    kind: ClassVar[str] = "mlflow_version"
    name: str
    version: int
    source: str
    run_id: str | None = None
    status: str = "READY"
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowAliasSet:
    kind: ClassVar[str] = "mlflow_alias"
    name: str
    alias: str
    version: int | None  # None: the alias is removed
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorRunProgressed:
    """How far a lab run has been mirrored into the [mlflow] mirror (service/mlflow_mirror.py)."""

    kind: ClassVar[str] = "mirror_run"
    run_id: str
    mlflow_run_id: str
    params: int  # params sent
    points: int  # metric points sent, in the store's order
    artifacts: int  # artifacts sent, in the run's order
    ended: bool  # its end (status, time) sent
    ts: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorVersionMade:
    """A lab model version made in the mirror's registry, and the alias `champion` there."""

    kind: ClassVar[str] = "mirror_version"
    name: str
    version: int
    mlflow_version: int
    champion: bool  # the mirror's `champion` alias points at it
    ts: float


MLFLOW_EVENTS = (MlflowModelSaved, MlflowVersionSaved, MlflowAliasSet, MirrorRunProgressed, MirrorVersionMade)
MlflowEvent = MlflowModelSaved | MlflowVersionSaved | MlflowAliasSet | MirrorRunProgressed | MirrorVersionMade


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    status: str
    description: str
    tags: dict[str, str]
    user: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MlflowModel:
    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int]  # alias -> version
    versions: list[MlflowVersion]  # oldest first
