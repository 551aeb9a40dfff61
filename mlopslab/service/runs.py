"""Run lifecycle inside the service: creating runs, spawning and watching run processes.

A run process (`python -m mlopslab.exec.runner`) is the Ray driver of one run. It
runs detached, so it outlives the command that started it. The supervisor marks a
run `failed` when its process is gone without having reported an end (killed, OOM,
machine crash); the final-status update is conditional, so a run that did report
its end is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlopslab.core.errors import NotFound, RunStateError
from mlopslab.core.events import ActionAudited, AttemptArchived, ParamsLogged, ProjectCreated, RunCreated, TagsSet
from mlopslab.core.run import ImportedRun, Project, Run, RunResources, RunSettings, RunSpec, TrackedRunSpec
from mlopslab.core.runs import ACTIVE, RESUMABLE, run_update
from mlopslab.processes import alive, signal_group, wait_gone

if TYPE_CHECKING:
    from mlopslab.lab import Lab
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

CANCEL_GRACE_S = 10.0
NEVER_SPAWNED_S = 60.0


def new_run_id() -> str:
    return f"{datetime.now():%y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class RunManager:
    def __init__(self, lab: Lab, store: Store, writer: GroupWriter) -> None:
        self.lab, self.store, self.writer = lab, store, writer
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def submit(self, spec: RunSpec, resources: RunResources) -> Run:
        """Record a new queued run with the resources the scheduler admitted it with; the
        scheduler starts it when quotas and capacity allow."""
        run_id = new_run_id()
        now = time.time()
        run = {
            "id": run_id, "project": spec.project, "recipe": spec.recipe,
            "recipe_path": spec.recipe_path, "status": "queued",
            "user_name": spec.user, "seed": spec.seed, "params": spec.params,
            "resources": resources.to_json(), "options": spec.options.to_json(),
            "priority": int(spec.priority or 0), "created_at": now, "queued_at": now,
        }
        self.writer.write(None, [
            RunCreated(run=run),
            ParamsLogged(run_id=run_id, params=spec.params),
            _audit(spec.user, "run.submit", run_id, {"recipe": spec.recipe}),
        ])
        return self.store.get_run(run_id)

    def create_project(self, name: str) -> Project:
        self.writer.write(None, [ProjectCreated(name=name, ts=time.time())])
        return next(p for p in self.store.projects() if p.name == name)

    def import_run(self, run: ImportedRun) -> Run:
        """A run of another tracker under its own id; an import of it again updates it."""
        try:
            self.store.get_run(run.id)
            exists = True
        except NotFound:
            exists = False
        events: list[Any] = []
        if not exists:
            events.append(RunCreated(run={
                "id": run.id, "project": run.project, "recipe": run.name, "recipe_path": run.source,
                "status": run.status, "user_name": run.user, "params": run.params,
                "resources": RunResources(cpus=0.0).to_json(), "options": RunSettings(kind="mlflow").to_json(),
                "created_at": run.created_at, "started_at": run.started_at, "ended_at": run.ended_at}))
        else:
            events.append(run_update(run.id, status=run.status, started_at=run.started_at, ended_at=run.ended_at,
                                     params=run.params))
        events += [ParamsLogged(run_id=run.id, params=run.params), TagsSet(run_id=run.id, tags=dict(run.tags))]
        self.writer.write(None, events)
        return self.store.get_run(run.id)

    def track(self, spec: TrackedRunSpec) -> Run:
        """Record a run that its own process (`spec.pid`) drives and ends."""
        run_id = new_run_id()
        now = time.time()
        started = spec.started_at or now
        run = {
            "id": run_id, "project": spec.project, "recipe": spec.name, "recipe_path": spec.path,
            "status": "running", "user_name": spec.user, "seed": spec.seed, "params": spec.params,
            "resources": RunResources(cpus=0.0).to_json(),
            "options": RunSettings(kind=spec.kind, cwd=spec.cwd).to_json(),
            "created_at": min(now, started), "started_at": started, "pid": spec.pid, "host": spec.host,
            "code_version": spec.code_version, "deps": spec.deps, "gpu_ids": spec.gpu_ids or None,
        }
        self.writer.write(None, [
            RunCreated(run=run),
            ParamsLogged(run_id=run_id, params=spec.params),
            TagsSet(run_id=run_id, tags=dict(spec.tags)),
            _audit(spec.user, "run.track", run_id, {"name": spec.name, "path": spec.path}),
        ])
        return self.store.get_run(run_id)

    def resume(self, run_id: str, from_scratch: bool = False) -> Run:
        """Queue a new attempt of a failed, timed-out or killed run (ignoring its cached
        step outputs with `from_scratch`). Its current attempt is copied to
        run_attempts first, in the same transaction: a resume adds to a run's history,
        never rewrites it."""
        run = self.store.get_run(run_id)
        if run.status not in RESUMABLE:
            raise RunStateError(*_not_resumable(run))
        fields: dict[str, Any] = {
            "status": "queued", "reason": None, "error": None, "exit_code": None,
            "started_at": None, "ended_at": None, "pid": None, "worker_pid": None,
            "queued_at": time.time(), "attempt": run.attempt + 1,
            "options": replace(run.options, from_scratch=from_scratch).to_json()}
        self.writer.write(None, [
            AttemptArchived(run_id=run.id, only_if_status=list(RESUMABLE)),
            run_update(run.id, only_if=RESUMABLE, **fields),
            _audit(None, "run.resume", run.id, {"attempt": fields["attempt"]})])
        resumed = self.store.get_run(run.id)
        if resumed.attempt != fields["attempt"]:  # another resume (or cancel) came first
            raise RunStateError(f"run {run.id} changed while resuming it: it is now "
                                f"{resumed.status}", "see mlopslab runs show " + run.id)
        return resumed

    def start(self, run_id: str) -> None:
        """Admitted by the scheduler: mark it starting and start its process."""
        with self._lock:
            self.writer.write(None, [run_update(run_id, only_if=("queued",), status="starting",
                                                reason=None)])
            if self.store.get_run(run_id).status == "starting":
                self._spawn(run_id)

    def cancel(self, run_id: str, actor: str | None) -> Run:
        run = self.store.get_run(run_id)
        if run.status not in ACTIVE:
            return run
        self.writer.write(None, [
            run_update(run.id, only_active=True, status="cancelled",
                       reason=f"cancelled by {actor or 'a user'}", ended_at=time.time()),
            _audit(actor, "run.cancel", run.id, {}),
        ])
        self._stop(run)
        return self.store.get_run(run.id)

    def kill(self, run: Run, reason: str) -> None:
        """Stop a run over one of its limits: status killed, its step's worker first."""
        self.writer.write(None, [
            run_update(run.id, only_active=True, status="killed", reason=reason,
                       ended_at=time.time()),
            _audit("watchdog", "run.kill", run.id, {"reason": reason}),
        ])
        worker = run.worker_pid
        if worker and alive(worker):
            with contextlib.suppress(OSError):
                os.kill(worker, signal.SIGKILL)
        threading.Thread(target=self._stop, args=(run,), daemon=True).start()

    def _stop(self, run: Run) -> None:
        """SIGTERM to the run process's group (it cancels its step), SIGKILL after a grace.
        A tracked run's process is the user's own (a notebook, a shell's job): it gets one
        SIGTERM, its group nothing."""
        pid = run.pid
        if run.options.kind == "tracked":
            if pid and alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            return
        if pid and alive(pid):
            signal_group(pid, signal.SIGTERM)
            if not wait_gone(pid, CANCEL_GRACE_S):
                signal_group(pid, signal.SIGKILL)

    def supervise(self) -> None:
        """Mark runs whose process is gone without a final status as failed."""
        with self._lock:
            for run in self.store.active_runs():
                self._check(run)

    def _check(self, run: Run) -> None:
        if run.status == "queued" or run.options.kind == "mlflow":  # an MLflow run has no process
            return
        pid = run.pid
        child = self._children.get(run.id)
        if child is not None and child.poll() is None:
            return
        if (pid and alive(pid)) or (pid is None and not self._never_spawned(run)):
            return
        code = child.returncode if child is not None else None
        reason = f"run process (pid {pid}) ended without reporting a result"
        if code is not None and code < 0:
            reason += f" (killed by signal {-code})"
        # a tracked run's process is the user's own: gone without an end, it was killed
        status = "killed" if run.options.kind == "tracked" else "failed"
        self.writer.write(None, [run_update(
            run.id, only_active=True, status=status, reason=reason, ended_at=time.time())])
        self._children.pop(run.id, None)

    @staticmethod
    def _never_spawned(run: Run) -> bool:
        age = time.time() - run.waiting_since.timestamp()
        return age > NEVER_SPAWNED_S

    def _spawn(self, run_id: str) -> None:
        log_path = self.lab.run_log(run_id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mlopslab.exec.runner", "--lab", str(self.lab.root),
                 "--run", run_id],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._children[run_id] = proc
        self.writer.write(None, [run_update(run_id, pid=proc.pid)])


def _not_resumable(run: Run) -> tuple[str, str]:
    """Why a run cannot be resumed, and what to do instead."""
    run_id, status = run.id, run.status
    only = "only a failed, timed-out or killed run can be resumed"
    if status in ACTIVE:
        return (f"run {run_id} is still {status}; {only}",
                f"follow it (mlopslab runs logs {run_id} -f) or cancel it (mlopslab cancel {run_id})")
    done = "was cancelled" if status == "cancelled" else f"is {status}"
    return f"run {run_id} {done}; {only}", f"to run it again, start a new run: mlopslab run {run.recipe_path}"


def _audit(actor: str | None, action: str, target: str, detail: dict[str, Any]) -> ActionAudited:
    return ActionAudited(ts=time.time(), actor=actor or _os_user(), action=action, target=target,
                         detail=detail)


def _os_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "unknown"
