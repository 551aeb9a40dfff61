"""Gate reports as the registry keeps them: one per `mlopslab gate` of a version.

A `GateReport` holds every check (core/gates.py `Check`) with its number, limit
and verdict, the spec the gates ran with (`GatesSpec`) and what they measured
(`GateReportInfo`, a record: core/records.py). The `gate` and `gate_report`
operations answer a `GateVerdict`: the report with a verdict per gate and the
evaluation data it compared on. A version's list of reports is of `GateReportSummary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from pydantic.dataclasses import dataclass as record

from mlopslab.core.gates import Check, GatesSpec, LatencyStats
from mlopslab.core.records import Record


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
    set: int | None = None
    source: str | None = None


@record(frozen=True)
class GateReportInfo(Record):
    """What a gate run measured besides its checks: how many evaluation `rows`; why the
    champion could not be scored there (`champion_error`: its stored scores stand in);
    both models' `scores` on those rows (`champion_scores`: None with no champion);
    `latency` keyed by batch size; and the `evaluation` data it compared on.

    A candidate that did not load has no scores, champion_scores or latency; a report
    from before evaluation sets has no evaluation. What a report lacks is None here and
    left out of its JSON."""

    sparse = frozenset({"rows", "champion_error", "scores", "latency", "evaluation"})
    rows: int | None = None
    champion_error: str | None = None
    scores: Mapping[str, float | None] | None = None
    champion_scores: Mapping[str, float | None] | None = None
    latency: dict[str, LatencyStats] | None = None
    evaluation: EvaluationUsed | None = None

    def absent(self) -> set[str]:
        # champion_scores is null when there is no champion, absent when nothing was scored
        return super().absent() | ({"champion_scores"} if self.scores is None else set())


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
    spec: GatesSpec | None  # the gates it ran with
    info: GateReportInfo
    created_at: datetime
    actor: str | None
    checks: list[Check]

    def evaluation_used(self) -> EvaluationUsed | None:
        """The evaluation data it compared on, as recorded in `info` (None: a report
        from before evaluation sets)."""
        return self.info.evaluation


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
