"""Alerts: conditions the monitor found, kept one per rule and subject.

Each evaluation of the rules (monitor/alert_rules.py) yields the `Condition`s that
hold now. `reconcile` turns them into events against the alerts still open: a new
(rule, subject) raises an alert; one already open (or acknowledged) is only seen
again (its count and last-seen time grow, no second alert); an open alert whose
condition no longer holds resolves itself, unless it is sticky (an occurrence such
as a run whose process vanished: acknowledging it resolves it, and it is never
raised again for that subject).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlopslab.core.monitor_events import AlertRaised, AlertResolved, AlertSeen

SEVERITIES = ("info", "warning", "critical")
OPEN = ("open", "acked")


@dataclass(frozen=True)
class Condition:
    """A rule found true of a subject (a run, a GPU, a budget, a deployment) now."""

    rule: str
    subject: str
    severity: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    sticky: bool = False


@dataclass(frozen=True)
class Alert:
    """A stored alert. `status`: open, acked (seen by someone, still true) or resolved."""

    id: str
    rule: str
    subject: str
    severity: str
    status: str
    message: str
    detail: dict[str, Any]
    sticky: bool
    first_seen: datetime
    last_seen: datetime
    count: int
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None


def new_alert_id() -> str:
    return "al-" + secrets.token_hex(4)


def reconcile(open_alerts: Sequence[Alert], conditions: Sequence[Condition],
              ts: float) -> list[AlertRaised | AlertSeen | AlertResolved]:
    """Events that bring the stored alerts in line with what holds now. `open_alerts`
    holds the open and acknowledged alerts, and the sticky ones of any status (a
    sticky alert is raised once per subject, ever)."""
    by_key = {(a.rule, a.subject): a for a in open_alerts if a.status in OPEN or a.sticky}
    events: list[AlertRaised | AlertSeen | AlertResolved] = []
    holding: set[tuple[str, str]] = set()
    for c in conditions:
        key = (c.rule, c.subject)
        if key in holding:
            continue
        holding.add(key)
        alert = by_key.get(key)
        if alert is None:
            events.append(AlertRaised(id=new_alert_id(), rule=c.rule, subject=c.subject,
                                      severity=c.severity, message=c.message,
                                      detail=dict(c.detail), sticky=c.sticky, ts=ts))
        elif not c.sticky:
            events.append(AlertSeen(id=alert.id, ts=ts, message=c.message))
    for key, alert in by_key.items():
        if key not in holding and not alert.sticky and alert.status in OPEN:
            events.append(AlertResolved(id=alert.id, ts=ts))
    return events
