"""What the TUI asks of the lab: typed calls to the lab service, made from worker
threads. Imports no Textual, so it can be tested and reused headless.

Each thread gets its own service connection (the client serializes calls on one
socket, and a log follower must not hold up a table scroll). Operations that a
newer service adds (`queue`, `gpus`) fall back to what older ones answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlopslab.client import LabClient
from mlopslab.core.errors import MlopslabError, NotFound
from mlopslab.core.gate_reports import GateVerdict
from mlopslab.core.gpus import GpuOwner, GpuSnapshot, GpuSource
from mlopslab.core.queue import QueueEntry
from mlopslab.core.quotas import Capacity
from mlopslab.core.recipe import Recipe, load_recipe
from mlopslab.core.registry import GatedPromotion, Promotion
from mlopslab.core.run import Run, RunFields, RunSpec
from mlopslab.lab import Lab
from mlopslab.runspecs import RunOptions

ACTIVE_FILTER = "status in ('queued', 'starting', 'running')"


def unknown_op(error: MlopslabError) -> bool:
    return isinstance(error, NotFound) and "unknown operation" in error.message


@dataclass(frozen=True)
class GpuReading:
    """A GPU snapshot and which run or deployment owns each GPU process (pid -> owner)."""

    snapshot: GpuSnapshot
    owners: dict[int, GpuOwner] = field(default_factory=dict)
    logical_gpus: float = 0  # what the cluster advertises when no device is found (lab start --gpus N)


@dataclass(frozen=True)
class RecipeEntry:
    """A recipe folder of the lab: parsed, or why it could not be."""

    name: str
    path: Path
    recipe: Recipe | None
    problem: str | None = None


class LabBackend:
    """The lab as the TUI sees it. Every method blocks: call it from a worker."""

    def __init__(self, lab: Lab, gpu_source: GpuSource | None = None) -> None:
        self.lab = lab
        self.gpu_source = gpu_source
        self._local = threading.local()
        self._clients: list[LabClient] = []
        self._lock = threading.Lock()
        self._missing_ops: set[str] = set()
        self._capacity: tuple[float, Capacity | None] | None = None

    @property
    def name(self) -> str:
        try:
            return self.lab.config.lab.name
        except MlopslabError:
            return self.lab.root.name

    @property
    def client(self) -> LabClient:
        """This thread's own connection to the lab service."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = LabClient(self.lab, timeout=60)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
        if self.gpu_source is not None:
            self.gpu_source.close()

    # runs -----------------------------------------------------------------

    def rerun(self, run: Run) -> Run:
        """A new run with the same recipe, params, seed, resources and accounting."""
        spec = RunSpec(recipe=run.recipe, recipe_path=run.recipe_path, project=run.project,
                       seed=run.seed or 0, params=run.params or {}, resources=run.resources,
                       user=run.user_name, options=replace(run.options, from_scratch=False))
        return self.client.runs.submit(spec=spec)

    def run_fields(self) -> tuple[RunFields, list[str]]:
        """The lab's metric and param names and run counts, and its recipes' primary metrics."""
        return self.client.runs.fields(), self.primary_metrics()

    def queue(self) -> list[QueueEntry]:
        """Waiting and running runs, oldest first, with why each waits."""
        if "queue" not in self._missing_ops:
            try:
                return list(self.client.queue.show().runs)
            except NotFound as e:
                if not unknown_op(e):
                    raise
                self._missing_ops.add("queue")
        return [_entry(r) for r in self.client.runs.list(ACTIVE_FILTER, "created_at", limit=1000)]

    # GPUs -----------------------------------------------------------------

    def gpus(self) -> GpuReading:
        """A local source when one was given (--demo-gpus, tests), else the service's; with
        no device found, how many logical GPUs the cluster advertises all the same."""
        reading = self._gpus()
        if reading.snapshot.devices:
            return reading
        capacity = self.capacity()
        return GpuReading(reading.snapshot, reading.owners, capacity.gpus if capacity else 0)

    def capacity(self) -> Capacity | None:
        """The CPUs and GPUs the lab's cluster advertises (the queue's view), asked every 10 s;
        None from a service too old to say."""
        now = time.monotonic()
        if self._capacity is None or now - self._capacity[0] > 10:
            capacity: Capacity | None
            try:
                capacity = self.client.queue.show().capacity
            except NotFound as e:
                if not unknown_op(e):
                    raise
                capacity = None
            self._capacity = (now, capacity)
        return self._capacity[1]

    def _gpus(self) -> GpuReading:
        owners: dict[int, GpuOwner] = {}
        if "gpus" not in self._missing_ops:
            try:
                answer = self.client.queue.gpus()
                owners = {int(pid): owner for pid, owner in answer.owners.items()}
                if self.gpu_source is None:
                    return GpuReading(answer.snapshot, owners)
            except NotFound as e:
                if not unknown_op(e):
                    raise
                self._missing_ops.add("gpus")
        if self.gpu_source is None:
            from mlopslab.monitor.gpu import open_source

            self.gpu_source = open_source("nvml")
        return GpuReading(self.gpu_source.sample(), owners)

    # recipes --------------------------------------------------------------

    def recipes(self) -> list[RecipeEntry]:
        entries = []
        folders = sorted(p for p in self.lab.recipes.iterdir() if p.is_dir()) if self.lab.recipes.is_dir() else []
        for folder in folders:
            if not (folder / "recipe.toml").is_file():
                continue
            try:
                entries.append(RecipeEntry(folder.name, folder, load_recipe(folder)))
            except MlopslabError as e:
                entries.append(RecipeEntry(folder.name, folder, None, e.message))
        return entries

    def primary_metrics(self) -> list[str]:
        """The metrics the lab's recipes rank by (`[model].primary`, else `[evaluation].primary`),
        the most common first."""
        counts: dict[str, int] = {}
        for entry in self.recipes():
            if entry.recipe is not None:
                name = entry.recipe.model.primary or entry.recipe.evaluation.primary
                if name:
                    counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda m: -counts[m])

    def launch(self, recipe_path: Path, opts: RunOptions) -> Run:
        """Validate like `mlopslab run` does (same spec builder), then submit."""
        from mlopslab.runspecs import build_specs

        specs = build_specs(self.lab, str(recipe_path), opts)
        return self.client.runs.submit(specs[0])

    # models ---------------------------------------------------------------

    def gate(self, ref: str) -> GateVerdict:
        return self.client.models.gate(ref=ref, actor=_user())

    def promote(self, ref: str, force: bool = False, reason: str | None = None) -> GatedPromotion | Promotion:
        """Refused unless the gates pass, or forced with a reason; asked as this user."""
        return self.client.models.promote(ref=ref, actor=_user(), force=force, reason=reason)


def _entry(run: Run) -> QueueEntry:
    """A run as a queue entry, for a service older than the queue operation."""
    return QueueEntry(id=run.id, status=run.status, reason=run.reason, project=run.project,
                      user=run.user_name, recipe=run.recipe, priority=run.priority,
                      resources=run.resources, queued_at=run.waiting_since,
                      started_at=run.started_at, position=None, pid=run.pid,
                      worker_pid=run.worker_pid)


def _user() -> str:
    import getpass

    return getpass.getuser()
