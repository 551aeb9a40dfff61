"""Model names and their numbered versions, as the registry keeps them.

A `ModelVersion` is one registered ONNX model with what it was scored on and how
(docs/registry.md). `models ls` lists a `ModelSummary` per name and a
`VersionSummary` per version; `models show` answers a `ModelVersionDetail` (the
version with its gate reports); registering answers a `Registration`.

Timestamps are UTC (aware). The JSON documents of a version's row are typed: its
feature schema (`FeatureSchema`), the gates kept with it (`GatesSpec`) and what
registration recorded besides (`VersionInfo`, with its `TrainingRows`); see
core/records.py for how they read old rows and write the JSON they always had. Its
dependency versions (`deps`: the run's environment and the ONNX file's, keyed by
package) stay a JSON object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from pydantic.dataclasses import dataclass as record

from mlopslab.core.gate_reports import GateReport, GateReportSummary
from mlopslab.core.gates import GatesSpec
from mlopslab.core.records import Record


@record(frozen=True)
class Tensor(Record):
    """One input or output of an ONNX graph: its name, element type (`tensor(float)`) and
    shape (None: a dynamic dimension)."""

    name: str
    type: str
    shape: list[int | str | None] = field(default_factory=list)


@record(frozen=True)
class FeatureSchema(Record):
    """The inputs and outputs of a version's ONNX graph, as registration read them."""

    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)


@record(frozen=True)
class TrainingRows(Record):
    """The rows a version trained on, as keys over its feature `columns`: the artifact
    `sha256` holding them, how many, and the training inputs they came from (JSON `from`)."""

    keys = {"inputs": "from"}
    sha256: str
    rows: int
    columns: list[str]
    inputs: list[str]


@record(frozen=True)
class UnknownTrainingRows(Record):
    """Why the rows a version trained on cannot be told (its gates then fail the check that
    it did not train on the evaluation rows)."""

    unknown: str


@record(frozen=True)
class VersionInfo(Record):
    """What registration recorded besides the version's columns.

    A run's version has `recipe` and `run_metrics` (the run's own last metrics); a file's
    has `file`, `data` (the paths given) and `train_data_given`. Both have the ONNX Runtime
    `provider` they were scored with, their `train_rows` (versions from before those were
    recorded have none), and the holdout's `rows` and `nonfinite` outputs. A key a
    version's row lacks is None here and left out of its JSON."""

    sparse = frozenset({"recipe", "run_metrics", "file", "data", "provider", "train_data_given",
                        "train_rows", "rows", "nonfinite"})
    recipe: str | None = None
    run_metrics: dict[str, float | None] | None = None
    file: str | None = None
    data: str | None = None
    provider: str | None = None
    train_data_given: bool | None = None
    train_rows: TrainingRows | UnknownTrainingRows | None = None
    rows: int | None = None
    nonfinite: int | None = None


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
    schema: FeatureSchema | None
    deps: dict[str, Any] | None  # python, packages (name -> version), onnx, ...
    gates: GatesSpec | None  # kept from the recipe or --gates (None: the lab's or the defaults)
    info: VersionInfo
    created_at: datetime
    created_by: str | None
    aliases: list[str]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


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
