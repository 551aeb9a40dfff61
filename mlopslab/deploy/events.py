"""Deployment events as sentences people read: `rolled back to v1 from v2 (asked by ana: slow)`.

An event is what the store keeps per deployment (store/deployment_writes.py): `kind`,
`version` (the one that serves, or the one it is about), `from_version`, `actor`,
`reason`, `seconds` (or `switch_s`, how long a switch took) and `info` (the rest).
No imports: the CLI and the TUI use it alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Event = Mapping[str, Any]


def describe(event: Event) -> str:
    """One line saying what happened, who asked and why."""
    kind = str(event.get("kind"))
    say = _SENTENCES.get(kind)
    if say is None:  # a kind this version does not know: still readable
        return " ".join(p for p in (kind.replace("_", " "), _v(event.get("version")), _by(event)) if p)
    return say(event)


def _v(version: Any) -> str:
    return f"v{version}" if version not in (None, "") else ""


def _info(event: Event) -> Mapping[str, Any]:
    info = event.get("info")
    return info if isinstance(info, Mapping) else {}


def _by(event: Event) -> str:
    return f"by {event['actor']}" if event.get("actor") else ""


def _asked(event: Event) -> str:
    """`(asked by ana: slow)`, `(asked by ana)`, `(slow)` or nothing."""
    actor, reason = event.get("actor"), event.get("reason")
    if actor:
        return f" (asked by {actor}: {reason})" if reason else f" (asked by {actor})"
    return f" ({reason})" if reason else ""


def _switch(event: Event) -> str:
    seconds = event.get("seconds", event.get("switch_s"))
    return f", switched in {seconds * 1000:.1f} ms" if isinstance(seconds, int | float) else ""


def _deployed(event: Event) -> str:
    first = f"deployed {_v(event.get('version'))}"
    if event.get("from_version"):
        first += f" ({_v(event.get('from_version'))} stays warm)"
    return " ".join(p for p in (first, _by(event)) if p) + _switch(event)


def _rolled_back(event: Event) -> str:
    return (f"rolled back to {_v(event.get('version'))} from {_v(event.get('from_version'))}"
            f"{_asked(event)}{_switch(event)}")


def _auto_rollback(event: Event) -> str:
    to = event.get("version") or _info(event).get("to_version")  # older events kept it in info
    why = f": {event['reason']}" if event.get("reason") else ""
    return f"rolled back automatically to {_v(to)} from {_v(event.get('from_version'))}{why}"


def _version_failed(event: Event) -> str:
    why = f" ({event['reason']})" if event.get("reason") else ""
    return f"{_v(event.get('version'))} never became ready{why}; traffic stayed where it was"


def _replica_restarted(event: Event) -> str:
    problem = _info(event).get("problem") or event.get("problem")
    tail = f", but not ready: {problem}" if problem else ", ready again"
    return f"restarted the replica of {_v(event.get('version'))} (it had stopped){tail}"


_SENTENCES: dict[str, Callable[[Event], str]] = {
    "deployed": _deployed,
    "rolled_back": _rolled_back,
    "auto_rollback": _auto_rollback,
    "version_failed": _version_failed,
    "replica_restarted": _replica_restarted,
    "gateway_restarted": lambda e: "restarted the endpoint's gateway (it had stopped)",
    "watch_passed": lambda e: f"{_v(e.get('version'))} passed its watch: no automatic rollback",
    "undeployed": lambda e: " ".join(p for p in ("undeployed", _by(e)) if p),
}
