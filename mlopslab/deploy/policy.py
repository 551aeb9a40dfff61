"""What a deployment watches after a switch, and the route table the gateway keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WatchPolicy:
    """A new version is rolled back automatically when, within `window_s` of taking
    traffic, its error rate or p99 latency breaks these limits, or its readiness
    check fails `health_failures` times in a row."""

    window_s: float = 60.0
    max_error_rate: float = 0.05  # 5xx and broken connections over all answered requests
    p99_ms: float | None = None  # None: no latency SLO
    min_requests: int = 20  # judge rates only over at least this many requests
    health_interval_s: float = 1.0
    health_failures: int = 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WatchPolicy:
        return cls(**(data or {}))


@dataclass(frozen=True)
class Route:
    """One version the gateway can send traffic to."""

    version: str
    url: str

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Route | None:
        return cls(str(data["version"]), str(data["url"])) if data else None
