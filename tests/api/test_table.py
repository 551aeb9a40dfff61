"""The operation table: every operation declared once, handled by the service,
sent by exactly one typed client method, and retried only when the table says so."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest

from mlopslab.api import OPERATIONS, Operation, Request
from mlopslab.client import groups
from mlopslab.service.dispatch import handler_table

GROUPS = (groups.Service, groups.Runs, groups.Queue, groups.Models, groups.Deployments,
          groups.Monitor, groups.Drift)


def client_methods() -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for group in GROUPS:
        for method in vars(group).values():
            op = getattr(method, "__operation__", None)
            if op is not None:
                found.setdefault(op.name, []).append(method)
    return found


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_each_operation_has_a_request_a_reply_and_flags(op: Operation) -> None:
    assert issubclass(op.request, Request)
    assert op.request.model_config.get("extra") == "forbid"
    assert op.reply is not None
    op.replies  # noqa: B018 - the reply type is one pydantic can check
    assert isinstance(op.idempotent, bool) and isinstance(op.writes, bool)
    assert op.writes or op.idempotent, "a read-only operation is always safe to repeat"
    assert op.doc


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_each_operation_has_exactly_one_client_method_of_its_shape(name: str) -> None:
    op = OPERATIONS[name]
    methods = client_methods().get(name, [])
    assert len(methods) == 1, f"{name} is sent by {len(methods)} client methods"
    method = methods[0]
    params = list(inspect.signature(method).parameters.values())[1:]
    fields = op.request.model_fields
    assert [p.name for p in params] == list(fields), f"{name}: parameters differ from {op.request.__name__}"
    for param in params:
        field = fields[param.name]
        if field.is_required():
            assert param.default is inspect.Parameter.empty, f"{name}.{param.name} is required"
        else:
            assert param.default == field.get_default(call_default_factory=True), \
                f"{name}.{param.name}: default {param.default!r} != {field.get_default()!r}"
    hints = typing.get_type_hints(method, vars(groups))
    assert hints["return"] == op.reply, f"{name}: returns {hints['return']}, the table says {op.reply}"


def test_no_client_method_sends_an_operation_outside_the_table() -> None:
    for name, methods in client_methods().items():
        assert OPERATIONS.get(name) is methods[0].__operation__


def test_a_handler_table_refuses_a_missing_a_doubled_or_a_foreign_operation() -> None:
    everything = {op: (lambda **_: None) for op in OPERATIONS.values()}
    handler_table(everything)
    first = next(iter(OPERATIONS.values()))
    with pytest.raises(RuntimeError, match="no handler"):
        handler_table({op: h for op, h in everything.items() if op is not first})
    with pytest.raises(RuntimeError, match="handled twice"):
        handler_table(everything, {first: lambda: None})
    stranger = Operation(first.name, first.request, first.reply, True, False, "not the table's")
    with pytest.raises(RuntimeError, match="not in"):
        handler_table({**{op: h for op, h in everything.items() if op is not first}, stranger: lambda: None})


def test_a_client_request_that_does_not_fit_is_a_bad_request_not_a_traceback() -> None:
    import pytest

    from mlopslab.api import runs
    from mlopslab.api.wire import build_request
    from mlopslab.core.errors import BadRequest

    with pytest.raises(BadRequest, match=r"bad request for create_project: name: string should have at most 200"):
        build_request(runs.CREATE_PROJECT, {"name": "a" * 250})
    assert build_request(runs.CREATE_PROJECT, {"name": "vision"}).name == "vision"  # type: ignore[attr-defined]
