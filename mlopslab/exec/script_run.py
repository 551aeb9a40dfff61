"""A plain Python script as a run: `mlopslab run train.py [--cpus --gpus ...] -- ARGS`.

The run process (runner.py) records the script's provenance, then runs it as one step,
`script`, in a Ray task with the run's resources: the task starts
`python SCRIPT ARGS` in the folder it was submitted from, with the run named in its
environment (MLOPSLAB_LAB, MLOPSLAB_RUN_ID; MLOPSLAB_SEED with --seed), so that the
tracking API inside it (exec/tracking.py) logs into this run. Its stdout and stderr
are the run's logs. The script dies with its Ray worker (a cancel, a time limit, a
killed worker), so nothing of it is left behind; exit code 0 finishes the run,
another fails it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from mlopslab.client import LabClient
from mlopslab.core.errors import RecipeError
from mlopslab.core.events import StepFinished, StepStarted
from mlopslab.core.hashing import sha256_file
from mlopslab.core.runs import run_update
from mlopslab.exec import provenance
from mlopslab.exec.context import EventSink
from mlopslab.exec.outcome import StepFailed
from mlopslab.exec.reporter import RunAttempt
from mlopslab.exec.steps import gpu_ids
from mlopslab.lab import Lab

STEP = "script"
PR_SET_PDEATHSIG = 1


def run_script(runner: RunAttempt) -> None:
    """Run the run's script to its end; StepFailed when it exits with another code than 0."""
    from mlopslab.exec.connect import connect, wait_for

    script = Path(runner.run.recipe_path)
    if not script.is_file():
        raise RecipeError(f"{script}: the script is not there any more", "submit it again: mlopslab run FILE.py")
    key = sha256_file(script)
    runner.send(run_update(runner.run_id, code_version=provenance.script_code_version(script),
                           deps=provenance.dependencies()))
    connect(runner)
    started = time.time()
    runner.log("mlopslab", f"step {STEP}: running {script.name} {' '.join(runner.run.options.args)}".rstrip())
    runner.send(StepStarted(run_id=runner.run_id, name=STEP, idx=0, cache_key=key, started_at=started))
    try:
        code = wait_for(runner, _remote(runner, script))
    except BaseException as e:
        runner.send(_finished(runner.run_id, key, started, "failed", str(e) or type(e).__name__))
        raise
    if code != 0:
        summary = f"{script.name} exited with code {code}" + (f" (signal {-code})" if code < 0 else "")
        runner.send(_finished(runner.run_id, key, started, "failed", summary))
        raise StepFailed(STEP, summary)
    runner.send(_finished(runner.run_id, key, started, "finished"))
    runner.log("mlopslab", f"step {STEP}: finished in {time.time() - started:.2f}s")


def _finished(run_id: str, key: str, started: float, status: str, error: str | None = None) -> StepFinished:
    return StepFinished(run_id=run_id, name=STEP, idx=0, cache_key=key, status=status, cached=False,
                        started_at=started, ended_at=time.time(), error=error[-2000:] if error else None)


def _remote(runner: RunAttempt, script: Path) -> Any:
    import ray

    from mlopslab.exec.connect import ray_options

    spec = {"lab": str(runner.lab.root), "run_id": runner.run_id, "script": str(script),
            "args": list(runner.run.options.args), "cwd": runner.run.options.cwd or str(script.parent),
            "seed": runner.run.seed}
    task = ray.remote(max_retries=0, num_returns=1)(execute_script)
    return task.options(**ray_options(runner.run.resources)).remote(spec)


def execute_script(spec: dict[str, Any]) -> int:
    """In the Ray worker: run the script, its output into the run's logs; its exit code."""
    lab = Lab(Path(spec["lab"]))
    env = {**os.environ, "MLOPSLAB_LAB": str(lab.root), "MLOPSLAB_RUN_ID": spec["run_id"],
           "PYTHONUNBUFFERED": "1"}
    if spec.get("seed") is not None:
        env["MLOPSLAB_SEED"] = str(spec["seed"])
    with LabClient(lab) as client:
        sink = EventSink(client, spec["run_id"])
        try:
            proc = subprocess.Popen([sys.executable, spec["script"], *spec["args"]], cwd=spec["cwd"], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    preexec_fn=_die_with_parent)  # noqa: PLW1509 - one libc call, no Python
            sink.send([run_update(spec["run_id"], worker_pid=proc.pid, gpu_ids=gpu_ids())])
            pumps = [threading.Thread(target=_pump, args=(stream, name, sink), daemon=True)
                     for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr"))]
            for pump in pumps:
                pump.start()
            code = proc.wait()
            for pump in pumps:
                pump.join(timeout=10)
            return code
        finally:
            sink.close()


def _pump(stream: IO[bytes] | None, name: str, sink: EventSink) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        sink.log(name, raw.decode(errors="replace").rstrip("\n"))


def _die_with_parent() -> None:
    """In the script's process before it starts: SIGKILL it when its Ray worker dies."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker's own cleanup has to do
        pass

