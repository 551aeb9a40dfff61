"""The model registry's rules: aliases, their history, and when promotion may happen.

A model name has numbered versions (1, 2, ...). Aliases point at versions:
`candidate` (the newest registered version), `champion` (moved only by
promotion) and any alias a user sets. Every move is kept in the alias history,
so the version an alias pointed at at any moment can be answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlopslab.core.errors import PromotionRefused
from mlopslab.core.refs import check_alias

CHAMPION = "champion"
CANDIDATE = "candidate"


@dataclass(frozen=True)
class AliasMove:
    """One row of the alias history."""

    alias: str
    from_version: int | None
    to_version: int | None
    ts: datetime
    actor: str | None = None
    reason: str | None = None
    forced: bool = False
    report_id: str | None = None


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


def promotion_decision(report: dict[str, Any] | None, version: int, champion: int | None,
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
    if report.get("champion_version") != champion:
        return False, (f"the latest gate report was made against champion "
                       f"{report.get('champion_version')}, the champion is now {champion}")
    if not report["passed"]:
        failed = ", ".join(report.get("failed") or []) or "a check"
        return False, f"the latest gate report failed: {failed}"
    return True, f"gate report {report['id']} passed"


def reported_differently(scores: dict[str, Any], run_metrics: dict[str, Any]) -> dict[str, float]:
    """The run's own metrics that differ from the registry's score of the same name
    (the run computed them itself; the registry scores the ONNX model in ONNX Runtime)."""
    return {key: float(run_metrics[key]) for key, score in scores.items()
            if isinstance(run_metrics.get(key), int | float) and isinstance(score, int | float)
            and abs(run_metrics[key] - score) > 1e-9}
