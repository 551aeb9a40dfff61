"""Decisions: what the lab does when a deployment's model stops being good enough.

Labelled feedback (rows with the true answer, `mlopslab feedback`) is scored with
the deployment's active version. When its metric is below the deployment's
retraining policy (`[retrain.deployment.NAME]`), the lab decides to retrain: a new
run of the version's recipe, on the policy's newest data, through the normal queue
and quotas. The new version must pass the gates against the current champion to be
promoted, and is then deployed blue/green, where the automatic rollback watches it.
A decision moves through these statuses, each change stored with its reason:

    retraining -> gating -> deployed        (the new version passed and serves)
                         -> rejected        (it failed the gates: the deployment stays)
               -> failed                    (the run did not finish, or registering failed)

Drift alone (the metrics hold) never retrains: it raises an alert and a review item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("retraining", "gating", "deployed", "rejected", "failed")
OPEN = ("retraining", "gating")


@dataclass(frozen=True)
class Feedback:
    """Labelled rows scored with the version a deployment served."""

    id: str
    deployment: str
    version: str  # NAME@N
    ts: datetime
    data: str  # the file, as given
    rows: int
    metric: str
    value: float
    threshold: float | None
    below: bool  # the metric is worse than the threshold


@dataclass(frozen=True)
class Decision:
    id: str
    deployment: str
    kind: str  # retrain
    reason: str
    status: str
    from_version: str  # NAME@N it served when decided
    run_id: str | None
    new_version: str | None
    report_id: str | None
    created_at: datetime
    updated_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackResult:
    """What `feedback` found, and the decision it made (None: nothing to do)."""

    feedback: Feedback
    decision: Decision | None
    why: str


def worse(value: float, threshold: float, maximize: bool) -> bool:
    """Is `value` worse than `threshold` for a metric that should be high (`maximize`)?"""
    return value < threshold if maximize else value > threshold


def verdict(metric: str, value: float, threshold: float | None, maximize: bool) -> tuple[bool, str]:
    """(below, why) for a feedback score against the policy's threshold."""
    if threshold is None:
        return False, f"{metric} {value:.4g} on the feedback; no retraining policy for it"
    if worse(value, threshold, maximize):
        side = "below" if maximize else "above"
        return True, f"{metric} {value:.4g} on labelled feedback is {side} its threshold {threshold:g}"
    return False, f"{metric} {value:.4g} on the feedback holds (threshold {threshold:g})"
