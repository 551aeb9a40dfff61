"""Starting, stopping and inspecting the lab service process.

The service runs detached (its own session, no terminal), so closing the terminal
or losing SSH does not stop it. A file lock makes sure only one runs per lab.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from mlopslab.core.errors import ServiceError
from mlopslab.processes import alive, wait_gone

if TYPE_CHECKING:
    from mlopslab.core.service_status import ServiceStatus
    from mlopslab.lab import Lab

START_TIMEOUT_S = 60


def start(lab: Lab) -> None:
    """Start the service unless one answers already; wait until it does.

    A new service that finds the lock held exits 0 and leaves it to the holder; when
    the holder was on its way out (a `lab stop` just before), nobody answers, so the
    service is started again until one does or the deadline passes."""
    from mlopslab.client.connection import wait_until_up

    if wait_until_up(lab, 0.2):
        return
    lab.state.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    proc = _spawn(lab)
    while time.monotonic() < deadline:
        if wait_until_up(lab, 0.5):
            return
        code = proc.poll()
        if code not in (None, 0):
            break  # it failed
        if code == 0:  # another service held the lock; it may be stopping
            proc = _spawn(lab)
    raise ServiceError(
        f"the lab service did not start (exit code {proc.poll()})",
        f"see {lab.state / 'service.log'}",
    )


def _spawn(lab: Lab) -> subprocess.Popen[bytes]:
    log = open(lab.state / "service.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "mlopslab.service.server", "--lab", str(lab.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=_service_env(),
        )
    finally:
        log.close()


def _service_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def read_pid(lab: Lab) -> int | None:
    try:
        return int((lab.state / "service.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def status(lab: Lab) -> ServiceStatus | None:
    """The service's own report when it answers; None when it does not (see read_pid)."""
    from mlopslab.client import LabClient

    try:
        with LabClient(lab, autostart=False, timeout=10) as client:
            return client.service.ping()
    except ServiceError:
        return None


def stop(lab: Lab, stop_ray: bool = True, timeout: float = 30) -> bool:
    """Ask the service to stop (and the local Ray cluster with it); True if one was running."""
    from mlopslab.client import LabClient

    pid = read_pid(lab)
    try:
        with LabClient(lab, autostart=False, timeout=timeout) as client:
            client.service.stop(stop_ray=stop_ray)
    except ServiceError:
        return _terminate(pid, timeout)
    if pid is not None:
        wait_gone(pid, timeout)
    return True


def _terminate(pid: int | None, timeout: float) -> bool:
    if pid is None or not alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    wait_gone(pid, timeout)
    return True
