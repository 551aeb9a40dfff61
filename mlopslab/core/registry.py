"""The model registry's rules: aliases, their history, and when promotion may happen.

A model name has numbered versions (1, 2, ...). Aliases point at versions:
`candidate` (the newest registered version), `champion` (moved only by
promotion) and any alias a user sets. Every move is kept in the alias history,
so the version an alias pointed at at any moment can be answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.errors import PromotionRefused
from mlopslab.core.gate_reports import GateReport, GateVerdict
from mlopslab.core.refs import check_alias

CHAMPION = "champion"
CANDIDATE = "candidate"


@dataclass(frozen=True)
class AliasMove:
    """One row of the alias history: `alias` of model `name` moved from one version to another
    (None: it pointed nowhere, or was removed)."""

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    ts: datetime
    actor: str | None = None
    reason: str | None = None
    forced: bool = False
    report_id: str | None = None


@dataclass(frozen=True)
class AliasHistory:
    """Every move of a model's aliases (or of one alias), oldest first."""

    name: str
    alias: str | None
    history: list[AliasMove]


@dataclass(frozen=True)
class AliasHistoryAt(AliasHistory):
    """The history, and the version `alias` pointed at, at time `at` (None: none)."""

    at: datetime
    version: int | None


@dataclass(frozen=True)
class AliasRemoval:
    name: str
    alias: str
    removed: bool


@dataclass(frozen=True)
class EvaluationSet:
    """Data that a model's versions are compared on; the newest version is in force."""

    name: str
    version: int
    data: str  # data version, sha256:...
    sha256: str
    rows: int | None
    source: str | None
    reason: str | None
    created_at: datetime
    actor: str | None


@dataclass(frozen=True)
class Promotion:
    """What `promote` did: `promoted` to champion or not, and why. A version that is
    already the champion is answered without consulting its gates."""

    name: str
    version: int
    from_version: int | None
    forced: bool
    promoted: bool
    why: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class GatedPromotion(Promotion):
    """A promotion decided on a gate report (None: forced with no report)."""

    report: GateVerdict | None


def user_alias(alias: str) -> str:
    """An alias a user may set by hand: valid, and not `champion`."""
    check_alias(alias)
    if alias == CHAMPION:
        raise PromotionRefused(
            "'champion' moves only through promotion",
            "run `mlopslab promote NAME@VERSION` (it runs the gates first; `promote --force "
            "--reason \"...\"` overrides them)",
        )
    return alias


def version_at(history: list[AliasMove], alias: str, when: datetime) -> int | None:
    """The version `alias` pointed at, at time `when` (None: it pointed nowhere then)."""
    current = None
    for move in sorted((m for m in history if m.alias == alias), key=lambda m: m.ts):
        if move.ts > when:
            break
        current = move.to_version
    return current


def promotion_decision(report: GateReport | None, version: int, champion: int | None,
                       force: bool, reason: str | None) -> tuple[bool, str]:
    """Whether `version` may become champion given its latest gate report.

    Returns (allowed, why). A report made against another champion than today's is
    stale: the regression check compared with the wrong model.
    """
    if force:
        if not reason or not reason.strip():
            raise PromotionRefused("--force needs --reason \"...\"",
                                   "an override is audited: say why")
        return True, "forced: " + reason.strip()
    if report is None:
        return False, f"version {version} has no gate report"
    if report.champion_version != champion:
        return False, (f"the latest gate report was made against champion "
                       f"{report.champion_version}, the champion is now {champion}")
    if not report.passed:
        failed = ", ".join(report.failed or []) or "a check"
        return False, f"the latest gate report failed: {failed}"
    return True, f"gate report {report.id} passed"


def reported_differently(scores: Mapping[str, float | None],
                         run_metrics: Mapping[str, float | None]) -> dict[str, float]:
    """The run's own metrics that differ from the registry's score of the same name
    (the run computed them itself; the registry scores the ONNX model in ONNX Runtime)."""
    differ = {}
    for key, score in scores.items():
        reported = run_metrics.get(key)
        if isinstance(reported, int | float) and isinstance(score, int | float) and abs(reported - score) > 1e-9:
            differ[key] = float(reported)
    return differ
