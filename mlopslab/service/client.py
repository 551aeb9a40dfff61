"""The client every command, run process and step uses to talk to the lab service.

It starts the service on demand. `write` sends a batch of events and returns only
after the service committed it; if the service cannot be reached, the batch is
spooled durably on disk and delivered later, so an acknowledged write is never lost.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any

from mlopslab.core.errors import ServiceUnreachable, error_from_dict
from mlopslab.lab import Lab
from mlopslab.service import daemon
from mlopslab.service.protocol import read_message, send
from mlopslab.spool import spool_batch

IDEMPOTENT = {"ping", "get_run", "list_runs", "metrics", "logs", "cluster", "write", "count_runs",
              "run_field_names", "queue", "quotas", "gpus"}
CONNECT_ERRORS = (FileNotFoundError, ConnectionRefusedError, ConnectionResetError,
                  BrokenPipeError)


class LabClient:
    """One connection to the service, reopened (and the service restarted) when lost."""

    def __init__(self, lab: Lab, autostart: bool = True, timeout: float = 600) -> None:
        self.lab = lab
        self.autostart = autostart
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._stream: Any = None
        self._lock = threading.Lock()

    def call(self, op: str, **args: Any) -> Any:
        """Send one request; raise the service's error as the matching MlopslabError."""
        with self._lock:
            reply = self._roundtrip({"op": op, "args": args})
        if not reply.get("ok"):
            raise error_from_dict(reply.get("error", {}))
        return reply.get("result")

    def write(self, events: list[dict[str, Any]], batch_id: str | None = None) -> str:
        """Deliver events durably: committed by the service, or spooled. Returns 'ok'/'spooled'."""
        batch_id = batch_id or uuid.uuid4().hex
        try:
            self.call("write", batch_id=batch_id, events=events)
            return "ok"
        except ServiceUnreachable:
            spool_batch(self.lab.spool, batch_id, events)
            return "spooled"

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._stream = None

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _roundtrip(self, message: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):
            try:
                if self._sock is None:
                    self._connect()
                assert self._sock is not None
                send(self._sock, message)
            except (*CONNECT_ERRORS, OSError) as e:
                self.close()  # a stale connection: nothing was processed, so retry once
                if attempt == 1:
                    raise self._unreachable(e) from e
                continue
            try:
                return self._reply()
            except ServiceUnreachable:
                # the service died while answering: repeat only what is safe to repeat
                if attempt == 1 or message["op"] not in IDEMPOTENT:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _reply(self) -> dict[str, Any]:
        try:
            reply = read_message(self._stream)
        except (*CONNECT_ERRORS, OSError) as e:
            self.close()
            raise self._unreachable(e) from e
        if reply is None:
            self.close()
            raise self._unreachable(ConnectionResetError("the service closed the connection"))
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

    def _open(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.lab.socket_path))
        except BaseException:
            sock.close()
            raise
        self._sock, self._stream = sock, sock.makefile("rb")


def wait_until_up(lab: Lab, deadline_s: float) -> bool:
    """Poll the socket until the service answers a ping, or the deadline passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with LabClient(lab, autostart=False, timeout=5) as client:
                client.call("ping")
            return True
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    return False
