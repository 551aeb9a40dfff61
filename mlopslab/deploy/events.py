"""Deployment events as sentences people read: `rolled back to v1 from v2 (asked by ana: slow)`.

Each happening has its type in core/events.py (VersionDeployed, DeploymentRolledBack,
...) and one sentence here, found by the type's kind. What the store keeps of one
(core/deployments.py DeploymentEvent, its row) is what is said: `kind`, `version` (the
one that serves, or the one it is about), `from_version`, `actor`, `reason`,
`seconds` (how long a switch took) and `info` (the rest). Rows of kinds this version
does not know are still said. The CLI, the TUI and the lab service's alerts use it alike.
"""

from __future__ import annotations

from collections.abc import Callable

from mlopslab.core.deployments import DeploymentEvent
from mlopslab.core.events import (
    DeploymentAutoRolledBack,
    DeploymentHappening,
    DeploymentRolledBack,
    DeploymentUndeployed,
    GatewayRestarted,
    ReplicaRestarted,
    VersionDeployed,
    VersionFailed,
    WatchPassed,
)


def describe(event: DeploymentEvent | DeploymentHappening) -> str:
    """One line saying what happened, who asked and why."""
    row = event if isinstance(event, DeploymentEvent) else DeploymentEvent.of(event)
    say = _SENTENCES.get(row.kind)
    if say is None:  # a kind this version does not know: still readable
        return " ".join(p for p in (row.kind.replace("_", " "), _v(row.version), _by(row)) if p)
    return say(row)


def _v(version: object) -> str:
    return f"v{version}" if version not in (None, "") else ""


def _by(event: DeploymentEvent) -> str:
    return f"by {event.actor}" if event.actor else ""


def _asked(event: DeploymentEvent) -> str:
    """`(asked by ana: slow)`, `(asked by ana)`, `(slow)` or nothing."""
    actor, reason = event.actor, event.reason
    if actor:
        return f" (asked by {actor}: {reason})" if reason else f" (asked by {actor})"
    return f" ({reason})" if reason else ""


def _switch(event: DeploymentEvent) -> str:
    seconds = event.seconds
    return f", switched in {seconds * 1000:.1f} ms" if isinstance(seconds, int | float) else ""


def _deployed(event: DeploymentEvent) -> str:
    first = f"deployed {_v(event.version)}"
    if event.from_version:
        first += f" ({_v(event.from_version)} stays warm)"
    return " ".join(p for p in (first, _by(event)) if p) + _switch(event)


def _rolled_back(event: DeploymentEvent) -> str:
    return f"rolled back to {_v(event.version)} from {_v(event.from_version)}{_asked(event)}{_switch(event)}"


def _auto_rollback(event: DeploymentEvent) -> str:
    to = event.version or event.info.get("to_version")  # older events kept it in info
    why = f": {event.reason}" if event.reason else ""
    return f"rolled back automatically to {_v(to)} from {_v(event.from_version)}{why}"


def _version_failed(event: DeploymentEvent) -> str:
    why = f" ({event.reason})" if event.reason else ""
    return f"{_v(event.version)} never became ready{why}; traffic stayed where it was"


def _replica_restarted(event: DeploymentEvent) -> str:
    problem = event.info.get("problem")
    tail = f", but not ready: {problem}" if problem else ", ready again"
    return f"restarted the replica of {_v(event.version)} (it had stopped){tail}"


_SENTENCES: dict[str, Callable[[DeploymentEvent], str]] = {
    VersionDeployed.kind: _deployed,
    DeploymentRolledBack.kind: _rolled_back,
    DeploymentAutoRolledBack.kind: _auto_rollback,
    VersionFailed.kind: _version_failed,
    ReplicaRestarted.kind: _replica_restarted,
    GatewayRestarted.kind: lambda e: "restarted the endpoint's gateway (it had stopped)",
    WatchPassed.kind: lambda e: f"{_v(e.version)} passed its watch: no automatic rollback",
    DeploymentUndeployed.kind: lambda e: " ".join(p for p in ("undeployed", _by(e)) if p),
}
