"""Gate reports as the registry keeps them: one per `mlopslab gate` of a version.

A `GateReport` holds every check (core/gates.py `Check`) with its number, limit
and verdict, the spec the gates ran with and what they measured (`info`). The
`gate` and `gate_report` operations answer a `GateVerdict`: the report with a
verdict per gate and the evaluation data it compared on. A version's list of
reports is of `GateReportSummary`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mlopslab.core.gates import Check


@dataclass(frozen=True)
class GateReportSummary:
    """One report of a version, in short (`models show` lists them, newest first)."""

    id: str
    champion_version: int | None
    passed: bool
    failed: list[str]
    created_at: datetime
    actor: str | None


@dataclass(frozen=True)
class EvaluationUsed:
    """The data a gate compared on: the evaluation set `set` in force, `--data`, or
    (for a model from before evaluation sets) the candidate's holdout."""

    data: str
    sha256: str
    set: int | None
    source: str | None


@dataclass(frozen=True)
class GateReport:
    """A stored report: candidate `name@version` against `champion_version`, check by check."""

    id: str
    name: str
    version: int
    champion_version: int | None
    passed: bool
    failed: list[str]  # "gate.check" of each failed check
    holdout_data: str | None
    provider: str | None
    spec: dict[str, Any] | None  # the GatesSpec it ran with, as JSON
    info: dict[str, Any] | None  # rows, scores, champion_scores, latency, evaluation
    created_at: datetime
    actor: str | None
    checks: list[Check]

    def evaluation_used(self) -> EvaluationUsed | None:
        """The evaluation data it compared on, as recorded in `info` (None: a report
        from before evaluation sets)."""
        used = (self.info or {}).get("evaluation")
        if not isinstance(used, dict) or "data" not in used or "sha256" not in used:
            return None
        return EvaluationUsed(data=used["data"], sha256=used["sha256"], set=used.get("set"),
                              source=used.get("source"))


@dataclass(frozen=True)
class GateVerdict(GateReport):
    """A report with whether each gate passed and the evaluation data it compared on."""

    gates: dict[str, bool]
    evaluation: EvaluationUsed | None

    @classmethod
    def of(cls, report: GateReport) -> GateVerdict:
        if isinstance(report, GateVerdict):
            return report
        gates: dict[str, bool] = {}
        for check in report.checks:
            gates[check.gate] = gates.get(check.gate, True) and bool(check.passed)
        base = {f.name: getattr(report, f.name) for f in fields(GateReport)}
        return cls(**base, gates=gates, evaluation=report.evaluation_used())
