"""The Ray cluster runs execute on: an existing one by address, or a local head
that the lab service starts once and keeps (6-11 s to start on a 2-core machine).

The local head runs as `ray start --head --block` in its own session, so it
outlives the service (runs keep going if the service dies); `lab stop` ends it.
Token authentication is always on: the token lives in the lab's state folder and
every run process gets RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.errors import ExecError
from mlopslab.processes import alive, signal_group, wait_gone
from mlopslab.sockets import MAX_SOCKET_PATH

START_TIMEOUT_S = 120


class LocalCluster:
    """A single-node Ray head bound to one lab's state folder."""

    def __init__(self, state: Path, num_cpus: int = 0, num_gpus: float = -1, port: int = 0,
                 gpu_source: str = "nvml"):
        self.state = state
        self.gpu_source = gpu_source
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.port = port
        self.file = state / "ray.json"
        self.token_path = state / "ray_token"

    def running(self) -> ClusterInfo | None:
        try:
            info = ClusterInfo(**json.loads(self.file.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if info.pid and alive(info.pid) and _port_open(info.address):
            return info
        return None

    def ensure(self) -> ClusterInfo:
        return self.running() or self.start()

    def start(self) -> ClusterInfo:
        port = self.port or _free_port()
        log = open(self.state / "ray.log", "wb")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            self._command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, **self._env()},
        )
        log.close()
        info = ClusterInfo(f"127.0.0.1:{port}", True, proc.pid, str(self.token_path))
        self._wait(proc, info)
        self.file.write_text(json.dumps(info.__dict__))
        return info

    def stop(self) -> bool:
        info = self.running()
        self.file.unlink(missing_ok=True)
        if info is None or info.pid is None:
            return False
        if not signal_group(info.pid, signal.SIGTERM):
            return False
        wait_gone(info.pid, 20)
        return True

    def _command(self, port: int) -> list[str]:
        ray_cli = Path(sys.executable).with_name("ray")
        launcher = [str(ray_cli)] if ray_cli.exists() else [sys.executable, "-m", "ray.scripts.scripts"]
        cmd = [
            *launcher, "start", "--head", "--block", f"--port={port}",
            "--node-ip-address=127.0.0.1", "--include-dashboard=false",
            "--disable-usage-stats", f"--temp-dir={self.temp_dir()}",
        ]
        if self.num_cpus:
            cmd.append(f"--num-cpus={self.num_cpus}")
        gpus = self.num_gpus if self.num_gpus >= 0 else detect_gpus(self.gpu_source)
        return [*cmd, f"--num-gpus={gpus:g}"]

    def temp_dir(self) -> Path:
        """Ray's session folder, per lab and short: Ray puts unix sockets inside
        (`session_<time>_<pid>/sockets/plasma_store`), and a socket path has at most
        107 bytes. $RAY_TMPDIR or the temp folder ($TMPDIR) when short enough, else /tmp."""
        digest = hashlib.sha256(str(self.state).encode()).hexdigest()[:10]
        return ray_temp_dir(f"mlopslab-ray-{digest}")

    def _env(self) -> dict[str, str]:
        if not self.token_path.exists():
            self.token_path.write_text(secrets.token_hex(32))
            self.token_path.chmod(0o600)
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token_path)}

    def _wait(self, proc: subprocess.Popen[bytes], info: ClusterInfo) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ExecError(
                    f"the local Ray cluster failed to start (exit {proc.returncode})",
                    f"see {self.state / 'ray.log'}",
                )
            if _started(self.state / "ray.log") and _port_open(info.address):
                return
            time.sleep(0.2)
        raise ExecError("the local Ray cluster did not start in time", "see .mlopslab/ray.log")



RAY_SOCKET_ROOM = 72  # what Ray appends: /session_<date>_<time>_<usec>_<pid>/sockets/plasma_store


def ray_temp_dir(name: str, bases: list[str] | None = None) -> Path:
    """`name` under the first of $RAY_TMPDIR, the temp folder and /tmp that is writable and
    short enough for Ray's sockets; an ExecError saying so when none is."""
    if bases is None:
        bases = [b for b in (os.environ.get("RAY_TMPDIR"), tempfile.gettempdir(), "/tmp") if b]
    for base in bases:
        path = Path(base) / name
        fits = len(os.fsencode(path)) + RAY_SOCKET_ROOM <= MAX_SOCKET_PATH
        if fits and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK):
            return path
    longest = MAX_SOCKET_PATH - RAY_SOCKET_ROOM - len(name) - 1
    raise ExecError(
        f"no writable temp folder is short enough for Ray's unix sockets (a socket path has "
        f"at most {MAX_SOCKET_PATH} bytes); tried {', '.join(bases)}",
        f"set RAY_TMPDIR to a writable folder of at most {longest} characters")


def detect_gpus(source: str = "nvml") -> int:
    """GPUs the GPU source sees (docs/gpus.md); 0 without a driver."""
    from mlopslab.monitor.gpu import open_source

    gpus = open_source(source)
    try:
        return len(gpus.sample().devices)
    finally:
        gpus.close()


def _started(log: Path) -> bool:
    try:
        return b"Ray runtime started" in log.read_bytes()[-20000:]
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except (OSError, ValueError):
        return False
