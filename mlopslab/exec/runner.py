"""The run process: the Ray driver of one run.

    python -m mlopslab.exec.runner --lab PATH --run RUN_ID

The lab service starts it detached. It records provenance, validates the data,
then runs each step as a Ray task with the recipe's resources, reusing cached
step outputs (unless --from-scratch), and reports every fact to the service.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from mlopslab.client import LabClient
from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import DataValidationError, MlopslabError
from mlopslab.core.events import Event
from mlopslab.core.recipe import load_recipe
from mlopslab.core.run import Run
from mlopslab.core.runs import exit_code, run_update
from mlopslab.exec import plan
from mlopslab.exec.connect import declared
from mlopslab.exec.context import EventSink
from mlopslab.exec.outcome import StepFailed, Stopped
from mlopslab.lab import Lab


class Runner:
    """Drives one attempt of a run; the RunAttempt its plan reports to (exec/reporter.py)."""

    def __init__(self, lab: Lab, client: LabClient, run: Run) -> None:
        self.lab, self.client, self.run = lab, client, run
        self.run_id: str = run.id
        self.sink = EventSink(client, self.run_id)
        self.deadline: float | None = None
        self.limit_text = ""
        self.exit_code = 1

    def execute(self) -> str:
        self._start()
        try:
            if self.run.options.kind == "script":
                from mlopslab.exec.script_run import run_script

                self._set_deadline(self.run.resources.time_limit)
                run_script(self)
                return self._end("finished", None)
            recipe = load_recipe(self.run.recipe_path)
            self._set_deadline(declared(self, recipe).time_limit)
            inputs = plan.prepare_inputs(self, recipe)
            plan.run_steps(self, recipe, inputs)
            return self._end("finished", None)
        except Stopped as e:
            return self._end(e.status, e.reason)
        except StepFailed as e:  # the step printed its traceback: once is enough
            return self._end("failed", str(e), e.summary, e.exit_code)
        except DataValidationError as e:
            detail = e.message + (f"\nhint: {e.hint}" if e.hint else "")
            self.log("mlopslab", f"data validation failed:\n{detail}")
            return self._end("failed", "data validation failed", detail, e.exit_code)
        except MlopslabError as e:
            return self._end("failed", e.message, e.message, e.exit_code)
        except Exception as e:  # noqa: BLE001 - a fault of mlopslab or Ray: keep its traceback
            self.log("mlopslab", traceback.format_exc())
            return self._end("failed", _short(e), _short(e))

    def log(self, stream: str, text: str) -> None:
        for line in text.rstrip("\n").split("\n"):
            self.sink.log(stream, line)
        print(text, flush=True)

    def send(self, *events: Event) -> None:
        self.sink.send(list(events))

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.time()

    def cluster(self) -> ClusterInfo:
        return self.client.service.cluster()

    def _start(self) -> None:
        from mlopslab.exec.provenance import host

        fields: dict[str, Any] = {"status": "running", "pid": os.getpid(), "host": host(),
                                  "started_at": time.time()}
        self.send(run_update(self.run_id, only_if=("starting",), **fields))
        self.log("mlopslab", f"run {self.run_id} started (attempt {self.run.attempt})")

    def _set_deadline(self, limit: str | None) -> None:
        if limit:
            self.deadline = time.time() + parse_duration(limit)
            self.limit_text = limit

    def _end(self, status: str, reason: str | None, error: str | None = None,
             code: int | None = None) -> str:
        """Record the end; `code` is the exit code the run's error carried, if any."""
        self.log("mlopslab", f"run {self.run_id} {status}" + (f": {reason}" if reason else ""))
        self.sink.flush()
        self.send(run_update(self.run_id, only_active=True, status=status, reason=reason,
                             error=error, exit_code=code, ended_at=time.time()))
        self.sink.close()
        self.exit_code = exit_code(status, code)
        return status


def _short(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error
    lines = [line for line in str(cause).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(cause).__name__
    return text if len(text) < 500 else text[:497] + "..."


def _on_sigterm(*_: object) -> None:
    raise Stopped("cancelled", "cancelled (SIGTERM)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lab", required=True)
    parser.add_argument("--run", required=True)
    args = parser.parse_args(argv)
    lab = Lab(Path(args.lab).resolve())
    signal.signal(signal.SIGTERM, _on_sigterm)
    with LabClient(lab) as client:
        run = client.runs.get(run_id=args.run)
        if run.status != "starting":  # cancelled (or killed) before its process started
            print(f"run {run.id} is {run.status}; not starting it", flush=True)
            return exit_code(run.status)
        runner = Runner(lab, client, run)
        runner.execute()
    return runner.exit_code


if __name__ == "__main__":
    sys.exit(main())
