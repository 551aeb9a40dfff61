"""The port each deployment backend implements, and what it returns."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlopslab.core.deployments import ServingOptions
from mlopslab.core.errors import DeployError


@dataclass(frozen=True)
class ReplicaSpec:
    """One version to start: its model file (in a folder of its own) and its names."""

    deployment: str
    version: str
    model_name: str
    model_dir: Path  # holds model.onnx; the replica writes server.log here (process backend)
    port: int
    options: ServingOptions = field(default_factory=ServingOptions)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replica:
    backend: str
    handle: str  # a pid or a container id
    version: str
    url: str
    port: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Replica:
        return cls(**{k: data[k] for k in ("backend", "handle", "version", "url", "port")})


class Backend(Protocol):
    kind: str

    def start(self, spec: ReplicaSpec) -> Replica: ...
    def on_ready(self, replica: Replica) -> None: ...
    def alive(self, replica: Replica) -> bool: ...
    def stop(self, replica: Replica) -> None: ...
    def logs(self, replica: Replica, spec_dir: Path, tail: int = 20) -> str: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listen(port: int, host: str = "127.0.0.1", backlog: int = 2048) -> socket.socket:
    """A listening socket on HOST:PORT (0: a free port), bound here and handed to the gateway.

    Binding before anything is recorded or started turns a taken port into one clear
    error, and leaves no window in which another program can take the port between a
    check and the gateway's own bind.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT does not block
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise DeployError(f"port {port} on {host} is taken by another program",
                              hint=f"`ss -ltnp 'sport = :{port}'` shows which; give another --port, "
                                   "or none for a free one") from e
        raise DeployError(f"cannot listen on {host}:{port}: {e.strerror or e}",
                          hint="give another --port (1024-65535), or none for a free one") from e
    return sock
