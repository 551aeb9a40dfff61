"""mlopslab: a local-first ML lab manager.

The tracking API for any Python code (docs/tracking.md), imported on first use so
that `import mlopslab` stays cheap:

    import mlopslab
    with mlopslab.start_run(project="vision", params={"lr": 0.1}) as run:
        run.log_metric("loss", 0.5, step=0)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

TRACKING = {
    "start_run": "start_run", "active_run": "active_run", "end_run": "end_run",
    "log_metric": "log_metric", "log_metrics": "log_metrics", "log_param": "log_param",
    "log_params": "log_params", "set_tags": "set_tags", "log_artifact": "log_artifact",
    "log_input": "log_input", "log_model": "log_model", "seed": "set_seed", "TrackedRun": "TrackedRun",
}
__all__ = ["__version__", *TRACKING]


def __getattr__(name: str) -> Any:
    if name in TRACKING:
        from mlopslab.exec import tracking

        return getattr(tracking, TRACKING[name])
    raise AttributeError(f"module 'mlopslab' has no attribute {name!r}")
