"""The typed client of the lab service, used by the CLI, the TUI, run processes,
scripts and benchmarks alike:

    with LabClient(lab) as client:
        run = client.runs.get("3f2a")
        client.models.promote("breast-cancer@3", actor="me")

Groups: `service`, `runs`, `queue`, `models`, `deployments`, `monitor`; each method is one
operation of mlopslab.api. `write` delivers events durably (committed, or spooled
on disk when the service cannot be reached).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from mlopslab.client.connection import Connection
from mlopslab.client.groups import Deployments, Drift, Models, Monitor, Queue, Runs, Service
from mlopslab.core.errors import ServiceUnreachable
from mlopslab.core.events import Event
from mlopslab.lab import Lab


class LabClient:
    """The lab service as typed calls over one connection (reopened when lost)."""

    def __init__(self, lab: Lab, autostart: bool = True, timeout: float = 600) -> None:
        self.lab = lab
        self.connection = Connection(lab, autostart, timeout)
        self.service = Service(self.connection)
        self.runs = Runs(self.connection)
        self.queue = Queue(self.connection)
        self.models = Models(self.connection)
        self.deployments = Deployments(self.connection)
        self.monitor = Monitor(self.connection)
        self.drift = Drift(self.connection)

    def write(self, events: Sequence[Event], batch_id: str | None = None) -> str:
        """Deliver events durably: committed by the service, or spooled. Returns 'ok'/'spooled'."""
        from mlopslab.spool import spool_batch

        batch_id = batch_id or uuid.uuid4().hex
        try:
            self.service.write(batch_id, list(events))
            return "ok"
        except ServiceUnreachable:
            spool_batch(self.lab.spool, batch_id, events)
            return "spooled"

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LabClient"]
