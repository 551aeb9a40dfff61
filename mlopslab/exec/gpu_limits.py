"""Telling frameworks a run's GPU memory limit, inside the Ray worker of a step.

Ray already restricts the step to its GPUs (CUDA_VISIBLE_DEVICES). Where a
framework can cap its own GPU memory, it is told: PyTorch through its per-process
memory fraction, ONNX Runtime through the CUDA provider's `gpu_mem_limit`
(`ctx.onnx_providers()`). What a framework cannot cap, the lab service's watchdog
catches from NVML's per-process readings (service/watchdog.py).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlopslab.core.run import RunResources

GIB = 1024**3
ENV_LIMIT = "MLOPSLAB_GPU_MEMORY_LIMIT_BYTES"


def limit_bytes(resources: RunResources) -> int | None:
    gb = resources.gpu_memory_gb
    return int(gb * GIB) if gb and resources.gpus else None


def apply(resources: RunResources) -> list[str]:
    """Set the limit where a framework takes one; returns what was done, for the log."""
    limit = limit_bytes(resources)
    if limit is None:
        os.environ.pop(ENV_LIMIT, None)
        return []
    os.environ[ENV_LIMIT] = str(limit)
    done = [f"{ENV_LIMIT}={limit}"]
    torch = _torch()
    if torch is not None and torch.cuda.is_available():
        for device in range(torch.cuda.device_count()):
            total = torch.cuda.get_device_properties(device).total_memory
            fraction = min(1.0, limit / total)
            torch.cuda.set_per_process_memory_fraction(fraction, device)
            done.append(f"torch cuda:{device} memory fraction {fraction:.4f} of {total / GIB:.1f} GiB")
    return done


def _torch() -> Any:
    if "torch" in sys.modules:
        return sys.modules["torch"]
    try:
        import torch

        return torch
    except ImportError:
        return None


def onnx_providers(gpu_ids: list[Any], limit: int | None) -> list[Any]:
    """ONNX Runtime providers for this step: CUDA (capped at the limit) when the step
    has a GPU and the installed onnxruntime has CUDA, then CPU."""
    import onnxruntime as ort

    if gpu_ids and "CUDAExecutionProvider" in ort.get_available_providers():
        options: dict[str, Any] = {"device_id": 0}
        if limit:
            options["gpu_mem_limit"] = limit
        return [("CUDAExecutionProvider", options), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
