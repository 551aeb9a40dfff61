"""MLflow's model registry as its client knows it (registered models, versions, aliases),
kept by the lab for code that calls `mlflow` (mlflow_compat/, docs/mlflow.md). These are
MLflow's entities, stored as MLflow has them: no ONNX check, no holdout, no gates. The
lab's own gated registry (core/model_versions.py) is apart; a version is promoted there
only through its gates.

    kind            wire keys (besides kind)
    mlflow_model    name, description, tags, ts
    mlflow_version  name, version, source, run_id, status, description, tags, user, ts
    mlflow_alias    name, alias, version (null: removed), ts
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


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


MLFLOW_EVENTS = (MlflowModelSaved, MlflowVersionSaved, MlflowAliasSet)
MlflowEvent = MlflowModelSaved | MlflowVersionSaved | MlflowAliasSet


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
