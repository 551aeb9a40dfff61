"""The events of decisions (core/decisions.py): feedback scored, a decision made or
moved on. Part of `Event` and its codec (core/events.py); the lab service makes them.

    kind              wire keys (besides kind)
    feedback          id, deployment, version, ts, data, rows, metric, value, threshold, below
    decision          id, deployment, decision, reason, status, from_version, run_id,
                      new_version, report_id, ts, detail (the decision as it is now)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackScored:
    kind: ClassVar[str] = "feedback"
    id: str
    deployment: str
    version: str
    ts: float
    data: str
    rows: int
    metric: str
    value: float
    threshold: float | None = None
    below: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionChanged:
    """A decision was made (its first event) or moved on: the whole decision as it is now."""

    kind: ClassVar[str] = "decision"
    id: str
    deployment: str
    decision: str  # retrain
    reason: str
    status: str
    from_version: str
    run_id: str | None = None
    new_version: str | None = None
    report_id: str | None = None
    ts: float
    detail: Mapping[str, Any] = field(default_factory=dict)


DECISION_EVENTS = (FeedbackScored, DecisionChanged)
DecisionEvent = FeedbackScored | DecisionChanged
