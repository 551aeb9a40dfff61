"""Model names and their numbered versions, as the registry keeps them.

A `ModelVersion` is one registered ONNX model with what it was scored on and how
(docs/registry.md). `models ls` lists a `ModelSummary` per name and a
`VersionSummary` per version; `models show` answers a `ModelVersionDetail` (the
version with its gate reports); registering answers a `Registration`.

Timestamps are UTC (aware). Fields that hold a JSON document of their own (the
feature schema, dependency versions, the recipe's gates, `info`) stay JSON objects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mlopslab.core.gate_reports import GateReport, GateReportSummary


@dataclass(frozen=True)
class ModelSummary:
    """One model name: how many versions, the latest, and where its aliases point."""

    name: str
    versions: int
    latest: int
    created_at: datetime
    updated_at: datetime
    aliases: dict[str, int]


@dataclass(frozen=True)
class GateResult:
    """A version's latest gate report, in short."""

    passed: bool
    report_id: str


@dataclass(frozen=True)
class VersionSummary:
    """One version as `models ls NAME` lists it: no schema, no dependencies."""

    name: str
    version: int
    sha256: str
    size: int
    source: str
    run_id: str | None
    train_data: str
    holdout_data: str
    task: str | None
    primary_metric: str | None
    direction: str | None
    scores: dict[str, float] | None
    created_at: datetime
    created_by: str | None
    aliases: list[str]
    gate: GateResult | None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: its artifact, data, scores on its holdout, schema, aliases."""

    id: str
    name: str
    version: int
    sha256: str
    size: int
    source: str  # run or file
    run_id: str | None
    train_data: str
    holdout_data: str
    holdout_sha256: str
    target: str
    exclude: list[str] | None
    sensitive: str | None
    task: str | None
    primary_metric: str | None
    direction: str | None
    scores: dict[str, float] | None
    groups: dict[str, float] | None
    schema: dict[str, Any] | None  # {"inputs": [{name, type, shape}], "outputs": [...]}
    deps: dict[str, Any] | None
    gates: dict[str, Any] | None  # a GatesSpec as JSON, kept from the recipe or --gates
    info: dict[str, Any] | None
    created_at: datetime
    created_by: str | None
    aliases: list[str]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def about(self) -> dict[str, Any]:
        """`info`, or an empty object for a version that has none."""
        return self.info or {}


def _fields_of(version: ModelVersion) -> dict[str, Any]:
    return {f.name: getattr(version, f.name) for f in fields(ModelVersion)}


@dataclass(frozen=True)
class ModelVersionDetail(ModelVersion):
    """A version with its gate reports (newest first) and the latest one in full."""

    reports: list[GateReportSummary]
    latest_report: GateReport | None

    @classmethod
    def of(cls, version: ModelVersion, reports: list[GateReportSummary],
           latest: GateReport | None) -> ModelVersionDetail:
        return cls(**_fields_of(version), reports=reports, latest_report=latest)


@dataclass(frozen=True)
class Registration(ModelVersion):
    """A registered version, and whether this request made it (False: it was there)."""

    created: bool

    @classmethod
    def of(cls, version: ModelVersion, created: bool) -> Registration:
        return cls(**_fields_of(version), created=created)
