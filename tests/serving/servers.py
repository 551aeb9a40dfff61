"""Start the real model server (`python -m mlopslab.serving`) on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def serve(model: Path, name: str = "m", **options: object) -> Iterator[Served]:
    port = free_port()
    args = [sys.executable, "-m", "mlopslab.serving", "--model", str(model), "--name", name,
            "--port", str(port)]
    for key, value in options.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(args, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield Served(url, port, process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready in {timeout} s")
