"""The service's side of the operation table: one handler per operation, checked.

Each group of operations (queries, queue, registry, deployments, the service itself)
hands over `{Operation: handler}`; `handler_table` joins them and refuses to start a
service that handles an operation twice, one outside the table, or misses one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mlopslab.api import OPERATIONS
from mlopslab.api.operation import Operation, Request

Handler = Callable[..., Any]
Handlers = Mapping[Operation, Handler]


def handler_table(*groups: Handlers) -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for group in groups:
        for op, handler in group.items():
            if op.name in table:
                raise RuntimeError(f"operation {op.name} is handled twice")
            if OPERATIONS.get(op.name) is not op:
                raise RuntimeError(f"operation {op.name} is not in mlopslab.api.OPERATIONS")
            table[op.name] = handler
    missing = sorted(set(OPERATIONS) - set(table))
    if missing:
        raise RuntimeError(f"no handler for operation(s): {', '.join(missing)}")
    return table


def call(handler: Handler, request: Request) -> Any:
    """Run a handler with the request's fields as keyword arguments."""
    return handler(**{name: getattr(request, name) for name in type(request).model_fields})
