"""A deployment's gateway seen from outside: start it on a bound socket, steer it, stop it.

The gateway (deploy/gateway.py) is a process of its own that outlives whoever started
it; it is found again by pid and steered over a unix socket in the deployment's folder
(JSON lines). Every failure to reach it is a DeployError with a hint, never a raw
socket error.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

from mlopslab.core.deployments import GatewayStatus, VersionTraffic
from mlopslab.core.errors import DeployError
from mlopslab.deploy import haproxy
from mlopslab.deploy.backend import listen
from mlopslab.deploy.gateway import control_socket
from mlopslab.deploy.process import running, spawn, terminate

MARKER = "mlopslab.deploy.gateway"
START_TIMEOUT_S = 20.0


def start(directory: Path, port: int, endpoint: socket.socket | None = None, proxy: str = "python") -> int:
    """Spawn the gateway for DIRECTORY serving on ENDPOINT (else a socket bound here to PORT); its pid.

    The socket is bound by the caller, so a taken port fails before any process runs,
    and no other program can take the port between a check and the gateway's bind.
    PROXY is what carries the traffic: "python" (the gateway itself) or "haproxy".
    """
    directory.mkdir(parents=True, exist_ok=True)
    haproxy.stop_leftover(directory)  # one whose gateway just died may hold the port a moment longer
    with contextlib.ExitStack() as closing:
        if endpoint is None:
            endpoint = closing.enter_context(listen(port))
        fd = endpoint.fileno()
        args = [sys.executable, "-m", MARKER, "--dir", str(directory), "--port", str(port), "--fd", str(fd),
                "--proxy", proxy]
        return spawn(args, directory / "gateway.log", pass_fds=(fd,))


def wait_answering(directory: Path, name: str, pid: int, port: int) -> None:
    """Return once gateway PID answers on its socket; a DeployError with its log if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(DeployError):
            steer(directory, name, {"op": "status"})
            return
        if not running(pid, MARKER):
            break
        time.sleep(0.05)
    log = (directory / "gateway.log").read_text(errors="replace").splitlines()[-6:]
    raise DeployError(f"the gateway of '{name}' did not start on port {port}",
                      hint="its log ends:\n" + "\n".join(log))


def alive(pid: int | None) -> bool:
    return pid is not None and running(int(pid), MARKER)


def stop(pid: int | None, directory: Path | None = None) -> None:
    """Stop gateway PID (it stops its HAProxy), and an HAProxy of DIRECTORY left without one."""
    if pid:
        terminate(int(pid), MARKER)
    if directory is not None:
        haproxy.stop_leftover(directory)


def steer(directory: Path, name: str, message: dict[str, Any]) -> dict[str, Any]:
    """Send one command (`status`, `switch`, `rollback`) to the gateway of deployment NAME."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(control_socket(directory)))
            s.sendall(json.dumps(message).encode() + b"\n")
            reply = json.loads(s.makefile().readline())
    except (OSError, ValueError) as e:  # refused, gone, timed out, or died mid-answer
        why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise DeployError(f"the gateway of '{name}' does not answer ({why})",
                          hint="the lab service restarts a dead gateway within seconds: try again; "
                               f"`mlopslab undeploy {name}` removes the deployment") from e
    if not reply["ok"]:
        raise DeployError(f"gateway of '{name}': {reply['error']}")
    return dict(reply["result"])


def status(directory: Path, name: str, pid: int | None) -> GatewayStatus:
    """What gateway PID says about itself: not alive when it is not running or does not answer."""
    seen = None
    if alive(pid):
        with contextlib.suppress(DeployError):
            seen = steer(directory, name, {"op": "status"})
    if seen is None:
        return GatewayStatus(pid=pid, alive=False, watching=False, stats={})
    stats = {version: VersionTraffic(**s) for version, s in seen["stats"].items()}
    return GatewayStatus(pid=pid, alive=True, watching=bool(seen["watching"]), stats=stats)
