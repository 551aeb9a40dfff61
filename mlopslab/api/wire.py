"""Wire format between the lab service and its clients: one JSON object per line.

Request:  {"v": 2, "op": "get_run", "args": {...}}
Response: {"v": 2, "ok": true, "result": ...}
      or  {"v": 2, "ok": false, "error": {"type", "message", "hint", "exit_code"}}

A result is dumped to JSON by pydantic-core from the operation's declared reply type
(dataclass nouns become objects, timestamps ISO 8601 text) and read back the same
way on the client, the whole line in one pass (`Operation.envelope`): 10,000 runs
cross in about a tenth of what encoding them with the json module took.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mlopslab.api import OPERATIONS, PROTOCOL_VERSION
from mlopslab.api.operation import Envelope, Operation, Request
from mlopslab.core.errors import BadRequest, UnknownOperation

MAX_LINE = 256 * 1024 * 1024

Message = dict[str, Any]
"""One decoded JSON line: the JSON edge, where requests and replies get their types."""


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def read_message(stream: Any) -> Message | None:
    """The next message from a binary file-like stream; None at end of stream."""
    line = stream.readline(MAX_LINE)
    if not line:
        return None
    result: Message = json.loads(line)
    return result


def send(sock: socket.socket, message: Message) -> None:
    sock.sendall(encode(message))


def request_message(op: Operation, request: Request) -> Message:
    # unset fields are left out: the service fills in the same defaults, and a nested
    # model (QuotaLimits) keeps "not given" apart from "given as null"
    return {"v": PROTOCOL_VERSION, "op": op.name,
            "args": request.model_dump(mode="json", exclude_unset=True)}


def parse_request(message: Message) -> tuple[Operation, Request]:
    """The operation and its validated request; UnknownOperation or BadRequest if not."""
    name = message.get("op")
    op = OPERATIONS.get(name) if isinstance(name, str) else None
    if op is None:
        raise UnknownOperation(f"unknown operation {name!r}",
                               "the client and the service may be of different mlopslab versions")
    args = message.get("args") or {}
    try:
        return op, op.request.model_validate(args)
    except ValidationError as e:
        raise BadRequest(f"bad request for {op.name}: {_problems(e)}") from e


def build_request(op: Operation, fields: Message) -> Request:
    """A client's request, checked as the service checks it: BadRequest when it does not fit."""
    try:
        return op.request.model_validate(fields)
    except ValidationError as e:
        raise BadRequest(f"bad request for {op.name}: {_problems(e)}") from None


def reply_line(op: Operation, result: Any) -> bytes:
    """A result as its reply line, dumped by pydantic-core from its declared type
    (timestamps as ISO 8601 text)."""
    return _OK + op.replies.dump_json(result) + b"}\n"


_OK = b'{"v":%d,"ok":true,"result":' % PROTOCOL_VERSION


def error_message(error: Message) -> Message:
    return {"v": PROTOCOL_VERSION, "ok": False, "error": error}


def parse_reply_line(op: Operation, line: bytes) -> Envelope:
    """A reply line read in one pass: its result as the operation's type (nouns
    rebuilt, timestamps parsed), or its error."""
    envelope: Envelope = op.envelope.model_validate_json(line)
    return envelope


def plain(value: Any) -> Any:
    """A reply or noun as plain JSON-able data (dataclasses become dicts; datetimes stay
    datetimes, which `encode` and the CLI's --json write as "YYYY-MM-DD HH:MM:SS")."""
    return _ANY.dump_python(value)


_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _problems(error: ValidationError, shown: int = 3) -> str:
    """Pydantic's complaints on one line, unknown fields first (often a misspelling of
    the missing one): `field: what is wrong; ...`."""
    errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg'].lower()}"
                for e in errors]
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(problems[:shown]) + more
