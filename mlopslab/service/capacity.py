"""How many GPUs and CPUs the lab's runs may be placed on.

The local cluster: what the lab config says (`ray.num_gpus`, `ray.num_cpus`), else
the GPUs the GPU source finds and the machine's cores. An existing cluster (an
address): the config's numbers when both are given, else Ray's own count, asked
once a minute by a short probe process (`python -m mlopslab.exec.capacity`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from functools import cached_property
from typing import TYPE_CHECKING

from mlopslab.core.errors import ExecError
from mlopslab.core.quotas import Capacity

if TYPE_CHECKING:
    from mlopslab.config import LabConfig

PROBE_TTL_S = 60.0
PROBE_TIMEOUT_S = 60.0


class CapacityOracle:
    def __init__(self, config: LabConfig) -> None:
        self.config = config
        self._probed: dict[str, tuple[float, Capacity]] = {}
        self._lock = threading.Lock()

    def for_address(self, address: str | None) -> Capacity:
        """Capacity of the cluster at `address` (None or "": the lab's own cluster)."""
        ray = self.config.ray
        address = address or ray.address
        if not address:
            return Capacity(gpus=int(self.local_gpus), cpus=float(ray.num_cpus or os.cpu_count() or 1))
        if ray.num_cpus > 0 and ray.num_gpus >= 0:
            return Capacity(gpus=int(ray.num_gpus), cpus=float(ray.num_cpus))
        with self._lock:
            cached = self._probed.get(address)
            if cached is None or time.monotonic() - cached[0] > PROBE_TTL_S:
                cached = (time.monotonic(), probe(address))
                self._probed[address] = cached
            return cached[1]

    @cached_property
    def local_gpus(self) -> float:
        """The local cluster's GPUs: fixed while the service lives (config or one detection)."""
        if self.config.ray.num_gpus >= 0:
            return self.config.ray.num_gpus
        from mlopslab.cluster import detect_gpus

        return detect_gpus(self.config.gpu.source)


def probe(address: str, token_path: str | None = None) -> Capacity:
    """Ask the cluster itself (token auth from the environment unless a token file is given)."""
    env = dict(os.environ)
    if token_path:
        env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token_path})
    done = subprocess.run(
        [sys.executable, "-m", "mlopslab.exec.capacity", address],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False, env=env)
    if done.returncode != 0:
        raise ExecError(f"cannot read the capacity of the Ray cluster at {address}",
                        done.stderr.strip().splitlines()[-1] if done.stderr.strip() else None)
    found = json.loads(done.stdout)
    return Capacity(gpus=int(found.get("GPU", 0)), cpus=float(found.get("CPU", 0)))
