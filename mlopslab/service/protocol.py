"""Wire format between the lab service and its clients: one JSON object per line.

Request:  {"op": "get_run", "args": {...}}
Response: {"ok": true, "result": ...}  or  {"ok": false, "error": {"type", "message", "hint"}}
"""

from __future__ import annotations

import json
import socket
from typing import Any

MAX_LINE = 256 * 1024 * 1024


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def read_message(stream: Any) -> dict[str, Any] | None:
    """The next message from a binary file-like stream; None at end of stream."""
    line = stream.readline(MAX_LINE)
    if not line:
        return None
    result: dict[str, Any] = json.loads(line)
    return result


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(encode(message))
