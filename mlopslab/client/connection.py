"""One connection to the lab service: requests out, typed replies back.

It starts the service on demand, checks on connecting that the service speaks this
client's protocol (an idle service left by an older mlopslab is restarted), and
after a lost reply repeats only what the operation table marks idempotent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from mlopslab.api import PROTOCOL_VERSION
from mlopslab.api import service as service_api
from mlopslab.api.operation import NoArgs, Operation, Request
from mlopslab.api.wire import MAX_LINE, Message, parse_reply_line, request_message, send
from mlopslab.client import daemon
from mlopslab.core.errors import ServiceOutdated, ServiceUnreachable, error_from_dict
from mlopslab.lab import Lab

CONNECT_ERRORS = (FileNotFoundError, ConnectionRefusedError, ConnectionResetError,
                  BrokenPipeError)
RETRY_PAUSE_S = 0.2


class Connection:
    """One socket to the service, reopened (and the service restarted) when lost."""

    def __init__(self, lab: Lab, autostart: bool = True, timeout: float = 600) -> None:
        self.lab = lab
        self.autostart = autostart
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._stream: Any = None
        self._lock = threading.Lock()

    def call(self, op: Operation, request: Request) -> Any:
        """Send one request; return its reply as the operation's reply type, or raise
        the service's error as the matching MlopslabError."""
        with self._lock:
            line = self._roundtrip(op, request_message(op, request))
        reply = parse_reply_line(op, line)
        if not reply.ok:
            raise error_from_dict(reply.error or {})
        return reply.result

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._stream = None

    def _roundtrip(self, op: Operation, message: Message) -> bytes:
        for attempt in range(2):
            try:
                if self._sock is None:
                    self._connect()
                assert self._sock is not None
                send(self._sock, message)
            except (*CONNECT_ERRORS, OSError, ServiceUnreachable) as e:
                # a stale connection, or a service going away during hello: nothing of
                # this request was processed, so it is safe to try once more
                self.close()
                if attempt == 1:
                    raise e if isinstance(e, ServiceUnreachable) else self._unreachable(e) from e
                if isinstance(e, ServiceUnreachable):
                    time.sleep(RETRY_PAUSE_S)  # let it finish going
                continue
            try:
                return self._line()
            except ServiceUnreachable:
                # the service died while answering: repeat only what is safe to repeat
                if attempt == 1 or not op.idempotent:
                    raise
                time.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    def _line(self) -> bytes:
        try:
            line: bytes = self._stream.readline(MAX_LINE)
        except (*CONNECT_ERRORS, OSError) as e:
            self.close()
            raise self._unreachable(e) from e
        if not line:
            self.close()
            raise self._unreachable(ConnectionResetError("the service closed the connection"))
        return line

    def _reply(self) -> Message:
        """The next reply as plain JSON (hello, and the pings of older protocols)."""
        reply: Message = json.loads(self._line())
        return reply

    def _unreachable(self, error: Exception) -> ServiceUnreachable:
        return ServiceUnreachable(
            f"lab service of {self.lab.root} did not answer: {error}",
            "see .mlopslab/service.log in the lab, or run `mlopslab lab status`",
        )

    def _connect(self) -> None:
        try:
            self._open()
        except CONNECT_ERRORS:
            if not self.autostart:
                raise
            daemon.start(self.lab)
            self._open()
        stale = self._stale()
        if stale is not None:
            self._replace(stale)

    def _open(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.lab.socket_path))
        except BaseException:
            sock.close()
            raise
        self._sock, self._stream = sock, sock.makefile("rb")

    def _stale(self) -> Message | None:
        """None when the service speaks this protocol; else what it says of itself."""
        assert self._sock is not None
        send(self._sock, request_message(service_api.HELLO, NoArgs()))
        reply = self._reply()
        if reply.get("v") == PROTOCOL_VERSION:
            return None
        # protocol 1 has no hello (it answers "unknown operation"): ask its ping
        send(self._sock, {"op": "ping", "args": {}})
        ping = self._reply()
        return dict(ping.get("result") or {}) if ping.get("ok") else {}

    def _replace(self, old: Message) -> None:
        """Restart an idle service of an older protocol; refuse to touch a busy one."""
        self.close()
        active = old.get("active_runs")
        what = f"the lab service (pid {old.get('pid', '?')}) runs mlopslab {old.get('version', '?')}"
        if not self.autostart or active != 0:
            raise ServiceOutdated(
                f"{what}, which speaks another protocol than this mlopslab (protocol {PROTOCOL_VERSION})",
                f"{active} run(s) are active in it; once they end, `mlopslab lab stop` and retry"
                if active else "stop it with `mlopslab lab stop`, then retry")
        daemon.stop(self.lab, stop_ray=False)
        daemon.start(self.lab)
        self._open()
        if self._stale() is not None:
            raise ServiceOutdated(f"{what}, and it is still answering after a restart",
                                  "stop it with `mlopslab lab stop`, then retry")


def wait_until_up(lab: Lab, deadline_s: float) -> bool:
    """Poll the socket until the service answers, or the deadline passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        connection = Connection(lab, autostart=False, timeout=5)
        try:
            connection.call(service_api.HELLO, NoArgs())
            return True
        except ServiceOutdated:
            return True  # it is up; the caller's own connection deals with its version
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
        finally:
            connection.close()
    return False
