"""The lab service's operations, declared once.

Every request a client can make is an `Operation` in `OPERATIONS`: its name, a typed
request (validated by the service), its reply type, and whether it is idempotent
(retried by the client after a lost reply) and whether it writes. The service
dispatches from this table (service/server.py) and the typed client
(mlopslab/client/) is checked against it (tests/api/test_table.py).

    client  --{"v": PROTOCOL_VERSION, "op": name, "args": request}-->  service
            <--{"v": PROTOCOL_VERSION, "ok": true, "result": reply}--
            <--{"v": PROTOCOL_VERSION, "ok": false, "error": {type, message, hint}}--
"""

from __future__ import annotations

from mlopslab.api import deploy, drift, monitor, queue, registry, runs, service
from mlopslab.api.operation import NoArgs, Operation, Request

PROTOCOL_VERSION = 3
"""Bumped whenever a request or reply changes shape (a new operation does not: an
older service answers it with UnknownOperation). 1: before the table (no "v");
2: before metric points travelled as columns (core/point_columns.py)."""

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (*service.OPERATIONS, *runs.OPERATIONS, *queue.OPERATIONS, *registry.OPERATIONS,
               *deploy.OPERATIONS, *monitor.OPERATIONS, *drift.OPERATIONS)
}

__all__ = ["OPERATIONS", "PROTOCOL_VERSION", "NoArgs", "Operation", "Request", "deploy", "drift",
           "monitor", "queue", "registry", "runs", "service"]
