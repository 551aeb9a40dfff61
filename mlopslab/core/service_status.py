"""What the lab service says about itself when pinged (`lab status`, the TUI's header)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.cluster import ClusterInfo


@dataclass(frozen=True)
class MirrorStatus:
    """The MLflow mirror ([mlflow] mirror_uri): how many runs it sends, how many are not
    all there yet, and how its last pass went."""

    uri: str  # without a password or token in it
    runs: int
    behind: int
    last_error: str | None
    last_pass: datetime | None  # the last pass that went through


@dataclass(frozen=True)
class ServiceStatus:
    """The running service: its process, lab, version, uptime and the Ray cluster it started."""

    pid: int
    lab: str  # the lab's folder
    name: str  # the lab's name
    version: str  # mlopslab's
    uptime_s: float
    commits: int  # write groups committed since it started
    active_runs: int
    ray: ClusterInfo | None  # None until the first run (or `lab start --ray`) starts it
    mirror: MirrorStatus | None = None  # None: no [mlflow] mirror_uri
