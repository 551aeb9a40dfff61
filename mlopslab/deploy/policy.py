"""What a deployment watches after a switch, and the route table the gateway keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    """One version the gateway can send traffic to."""

    version: str
    url: str

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Route | None:
        return cls(str(data["version"]), str(data["url"])) if data else None
