"""Registry nouns for tests of how they are shown: every field given, the ones a test
cares about overridden."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlopslab.core.gate_reports import GateReport, GateReportInfo
from mlopslab.core.gates import GatesSpec
from mlopslab.core.model_versions import FeatureSchema, ModelVersionDetail, VersionInfo, VersionSummary

WHEN = datetime(2026, 12, 1, 10, tzinfo=UTC)


def model_version(**fields: Any) -> ModelVersionDetail:
    values: dict[str, Any] = {
        "id": "v1", "name": "bc", "version": 1, "sha256": "ab" * 32, "size": 10, "source": "run",
        "run_id": "r1", "train_data": "sha256:aa", "holdout_data": "sha256:bb", "holdout_sha256": "bb",
        "target": "target", "exclude": [], "sensitive": None, "task": "classification",
        "primary_metric": "accuracy", "direction": "maximize", "scores": {}, "groups": None,
        "schema": FeatureSchema(), "deps": {}, "gates": None, "info": VersionInfo(), "created_at": WHEN,
        "created_by": "ada",
        "aliases": [], "reports": [], "latest_report": None}
    return ModelVersionDetail(**{**values, **fields})


def gate_report(**fields: Any) -> GateReport:
    values: dict[str, Any] = {
        "id": "gr-1", "name": "bc", "version": 2, "champion_version": None, "passed": True,
        "failed": [], "holdout_data": "sha256:bb", "provider": "CPUExecutionProvider", "spec": GatesSpec(),
        "info": GateReportInfo(), "created_at": WHEN, "actor": "ada", "checks": []}
    return GateReport(**{**values, **fields})


def version_summary(**fields: Any) -> VersionSummary:
    values: dict[str, Any] = {
        "name": "bc", "version": 1, "sha256": "ab" * 32, "size": 10, "source": "run", "run_id": "r1",
        "train_data": "sha256:aa", "holdout_data": "sha256:bb", "task": "classification",
        "primary_metric": "accuracy", "direction": "maximize", "scores": {}, "created_at": WHEN,
        "created_by": "ada", "aliases": [], "gate": None}
    return VersionSummary(**{**values, **fields})
