"""ProcessBackend: each replica is `python -m mlopslab.serving` in a session of its own.

Replicas are detached (a new session, output to server.log beside the model), so
they outlive the lab service and the terminal; they are found again by pid, checked
against their command line so a reused pid is not mistaken for them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from mlopslab.deploy.backend import Replica, ReplicaSpec

STOP_TIMEOUT_S = 15.0
_children: dict[int, subprocess.Popen[bytes]] = {}  # reaped when found dead


def spawn(args: list[str], log: Path, pass_fds: tuple[int, ...] = ()) -> int:
    """Start ARGS detached, output to LOG; PASS_FDS (e.g. a bound listening socket) are inherited."""
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                                   pass_fds=pass_fds)
    _children[process.pid] = process
    return process.pid


def running(pid: int, marker: str) -> bool:
    child = _children.get(pid)
    if child is not None:  # ours: no cmdline check (right after fork it is still ours, not exec'd)
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and marker in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def terminate(pid: int, marker: str, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM (the server drains in-flight requests), then SIGKILL after `timeout`."""
    if not running(pid, marker):
        return
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    child = _children.pop(pid, None)
    if child is not None:
        child.poll()


class ProcessBackend:
    kind = "process"

    def start(self, spec: ReplicaSpec) -> Replica:
        args = [sys.executable, "-m", "mlopslab.serving", "--model", str(spec.model_dir / "model.onnx"),
                "--name", spec.model_name, "--version", spec.version, "--port", str(spec.port),
                *spec.options.server_args()]
        pid = spawn(args, spec.model_dir / "server.log")
        return Replica(self.kind, str(pid), spec.version, f"http://127.0.0.1:{spec.port}", spec.port)

    def on_ready(self, replica: Replica) -> None:
        """Nothing: the lab service's supervision restarts a crashed process."""

    def alive(self, replica: Replica) -> bool:
        return running(int(replica.handle), "mlopslab.serving")

    def stop(self, replica: Replica) -> None:
        terminate(int(replica.handle), "mlopslab.serving")

    def logs(self, replica: Replica, spec_dir: Path, tail: int = 20) -> str:
        log = spec_dir / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-tail:]) if log.exists() else ""
