"""The Ray cluster runs execute on, as the lab service reports it (mlopslab/cluster.py starts it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterInfo:
    """Where a run process connects: an address, and the token of a local cluster."""

    address: str
    local: bool
    pid: int | None = None
    token_path: str | None = None

    def env(self) -> dict[str, str]:
        """Environment a driver needs to connect."""
        if not self.token_path:
            return {}
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": self.token_path}
