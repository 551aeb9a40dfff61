"""Following runs from the terminal: their logs as they arrive, then a summary."""

from __future__ import annotations

import signal
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.markup import escape

from mlopslab.cli.json_output import run_record
from mlopslab.cli.output import (
    console,
    duration,
    err_console,
    fmt_value,
    local_time,
    print_json,
    runs_table,
    status_text,
)
from mlopslab.core.durations import format_duration
from mlopslab.core.errors import DataValidationError, ExecError
from mlopslab.core.run import Run
from mlopslab.core.runs import FINAL, INTERRUPTED, RESUMABLE, exit_code

if TYPE_CHECKING:
    from mlopslab.client import LabClient

POLL_S = 0.3


def finish(client: LabClient, runs: list[Run], detach: bool, as_json: bool,
           after: dict[str, int] | None = None) -> None:
    """Print and exit the way `mlopslab run` promises.

    `after` gives, per run id, the last log line already seen (a resumed run's earlier
    attempts): following starts after it. Ctrl-C stops following, not the runs.
    """
    if detach:
        if as_json:
            print_json(_json(runs))
        else:
            for run in runs:
                click.echo(f"submitted run {run.id} ({run.recipe})")
        return
    out = err_console if as_json else console
    try:
        if len(runs) == 1:
            follow_logs(client, runs[0].id, out, (after or {}).get(runs[0].id, -1))
        final = [wait(client, r.id) for r in runs]
    except KeyboardInterrupt:
        interrupted(runs)
    if as_json:
        print_json(_json(final))
    elif len(final) == 1:
        summary(final[0])
    else:
        console.print(runs_table(final, metric_keys=6))
    for run in final:
        if run.status in RESUMABLE:
            out.print(f"hint: {resume_hint(run)}", markup=False, highlight=False, soft_wrap=True)
    worst = max((run_exit_code(r) for r in final), key=lambda c: (c != 0, c))
    sys.exit(worst)


def run_exit_code(run: Run) -> int:
    """The exit code of `mlopslab run` for a run that ended (3: its data failed validation)."""
    return exit_code(run.status, run.exit_code)


def resume_hint(run: Run) -> str:
    """What to do about a run that ended without finishing."""
    command = f"mlopslab run --resume {run.id}"
    code = run_exit_code(run)
    if code == DataValidationError.exit_code:
        return f"fix the data or the recipe's schema, then: {command}"
    if code == ExecError.exit_code:
        return f"check the Ray cluster (mlopslab lab status), then: {command}"
    if run.status == "failed":
        return f"fix it, then: {command}"
    return f"resume it at its unfinished step: {command}"


def interrupted(runs: list[Run]) -> NoReturn:
    """Ctrl-C while submitting or following: the runs go on; say how to follow and cancel
    them (or that none was submitted)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
    ids = [r.id for r in runs]
    if not ids:
        err_console.print("interrupted: no run was submitted", highlight=False)
        sys.exit(INTERRUPTED)
    going = "run " + ids[0] + " goes on" if len(ids) == 1 else f"runs {', '.join(ids)} go on"
    err_console.print(f"{going} in the background (Ctrl-C only stopped following)",
                      markup=False, highlight=False, soft_wrap=True)
    follow = f"mlopslab runs logs {ids[0]} -f" if len(ids) == 1 else "mlopslab queue"
    err_console.print(f"hint: follow it with `{follow}`; cancel it with "
                      f"`mlopslab cancel {' '.join(ids)}`", markup=False, highlight=False,
                      soft_wrap=True)
    sys.exit(INTERRUPTED)


def _json(runs: list[Run]) -> Any:
    shown = [run_record(r) for r in runs]
    return shown if len(shown) > 1 else shown[0]


def print_attempts(run: Run) -> None:
    """A resumed run's attempts, first to current (nothing for a run of one attempt)."""
    attempts = run.attempts or ()
    if len(attempts) < 2:
        return
    console.print("[bold]attempts[/]")
    for a in attempts:
        console.print(f"  {a.attempt:<3}{status_text(a.status)}  {local_time(a.started_at)}"
                      f"  {format_duration(duration(a), tenths=True)}"
                      + (f"  {escape(a.reason)}" if a.reason else ""),
                      soft_wrap=True, highlight=False)


def summary(run: Run) -> None:
    metrics = "  ".join(f"{k}={fmt_value(v)}" for k, v in run.metrics.items())
    console.print(f"[bold]{run.id}[/] {status_text(run.status)} in "
                  f"{format_duration(duration(run), tenths=True)}"
                  + (f": {escape(run.reason)}" if run.reason else ""))
    if metrics:
        console.print(f"  metrics  {metrics}", soft_wrap=True)
    for artifact in run.artifacts or ():
        console.print(f"  {artifact.kind:<9}{artifact.path}  sha256:{artifact.sha256}",
                      soft_wrap=True)


def follow_logs(client: LabClient, run_id: str, out: Any, after: int = -1) -> Run:
    """Print a run's log lines after line `after` until it ends; return the final run."""
    while True:
        run = client.runs.get(run_id=run_id)
        for line in client.runs.logs(run_id=run_id, after=after):
            after = line.seq
            prefix = "" if line.stream == "mlopslab" else "  | "
            out.print(f"{prefix}{line.line}", markup=False, highlight=False, soft_wrap=True)
        if run.status in FINAL:
            if not client.runs.logs(run_id=run_id, after=after):
                return run
        time.sleep(POLL_S)


def wait(client: LabClient, run_id: str) -> Run:
    while True:
        run = client.runs.get(run_id=run_id)
        if run.status in FINAL:
            return run
        time.sleep(POLL_S)
