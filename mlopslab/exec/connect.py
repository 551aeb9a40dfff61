"""Ray at the edge: connecting the run process to the cluster, submitting a step
as a task with the run's resources, and waiting for it within the time limit."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.errors import ExecError
from mlopslab.core.run import RunResources

if TYPE_CHECKING:
    from mlopslab.core.recipe import Recipe
    from mlopslab.exec.reporter import RunAttempt

POLL_S = 1.0


def connect(runner: RunAttempt) -> None:
    """ray.init against the lab's cluster. The auth env must be set before ray is imported."""
    runner.log("mlopslab", "connecting to Ray (a local cluster starts on first use)")
    address = runner.run.options.ray_address
    info = ClusterInfo(address, local=False) if address else runner.cluster()
    os.environ.update(info.env())
    import ray

    if ray.is_initialized():
        return
    _check_reachable(info.address)
    try:
        ray.init(address=info.address, namespace="mlopslab", log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    except Exception as e:
        raise ExecError(f"cannot connect to Ray at {info.address}: {e}") from e
    runner.log("mlopslab", f"connected to Ray at {info.address}")


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing listens at a HOST:PORT address (ray.init would retry for
    minutes); other forms (`auto`, `ray://...` clients) are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ExecError(f"cannot reach Ray at {address}: {e.strerror or e}",
                        "is the cluster up (ray status)? Or leave out --ray-address to use "
                        "the lab's (mlopslab lab status)") from e


GIB = 1024**3


def declared(runner: RunAttempt, recipe: Recipe) -> RunResources:
    """The run's resources (the recipe's with what the run was submitted with); a limit
    the run leaves unset, the recipe's."""
    return runner.run.resources.filled_from(RunResources.from_json(recipe.resources.model_dump()))


def resources(runner: RunAttempt, recipe: Recipe) -> dict[str, float]:
    return ray_options(declared(runner, recipe))


def ray_options(wants: RunResources) -> dict[str, float]:
    """Ray task options: Ray places CPUs, GPUs (sets CUDA_VISIBLE_DEVICES) and memory."""
    options = {"num_cpus": wants.cpus, "num_gpus": wants.gpus}
    if wants.memory_gb:
        options["memory"] = float(int(wants.memory_gb * GIB))
    return options


def remote_step(runner: RunAttempt, recipe: Recipe, spec: dict[str, Any],
                inputs: dict[str, bytes]) -> Any:
    import ray

    from mlopslab.exec.steps import execute_step

    task = ray.remote(max_retries=0, num_returns=1)(execute_step)
    return task.options(**resources(runner, recipe)).remote(spec, inputs)


def wait_for(runner: RunAttempt, ref: Any) -> Any:
    """The task's result; cancels it and stops the run when the time limit passes."""
    import ray

    from mlopslab.exec.outcome import Stopped

    try:
        while True:
            left = runner.remaining()
            timeout = POLL_S if left is None else max(0.0, min(POLL_S, left))
            ready, _ = ray.wait([ref], timeout=timeout)
            if ready:
                return ray.get(ref)
            if left is not None and left <= 0:
                raise Stopped("timed_out", f"time limit of {runner.limit_text} reached "
                              "(counted from the run's start); its step was stopped")
    except BaseException:
        ray.cancel(ref, force=True)
        raise
