"""Drift in the lab service: every `[drift] interval_s` it collects the input rows each
live replica sampled (`GET /v2/samples?after=SEQ`, serving/sampling.py), stores them
(store/drift_writes.py), checks every new whole window of each deployment version
against the training data profile of the model version it serves (made once, lazily,
from the training data file), and records a review item when a deployment starts
drifting. Drift raises an alert and never starts a run.

    rule    subject            holds while
    drift   deployment:NAME    k of the active version's last n windows drifted

See docs/monitoring.md, "Drift".
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlopslab.api import drift as api
from mlopslab.config import DriftSection, LabConfig
from mlopslab.core.alerts import Condition
from mlopslab.core.deployments import Deployment
from mlopslab.core.drift import (
    DriftPolicy,
    FeatureReference,
    FeatureScore,
    check_windows,
    decide,
    profile,
)
from mlopslab.core.drift_reports import DriftReference, DriftReport, DriftWindow
from mlopslab.core.errors import MlopslabError, NotFound
from mlopslab.core.hashing import md5_file, sha256_file
from mlopslab.core.monitor_events import (
    DriftReferenceProfiled,
    DriftReviewOpened,
    DriftSampled,
    DriftWindowChecked,
)
from mlopslab.evaluation.onnx_model import read_table
from mlopslab.lab import Lab
from mlopslab.service.dispatch import Handlers
from mlopslab.service.loops import every
from mlopslab.store import drift_queries as q

if TYPE_CHECKING:
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

FETCH_TIMEOUT_S = 5.0
READ_ROWS = 10_000  # rows asked for per request
MAX_WINDOWS_PER_CHECK = 1000
References = tuple[DriftReference, list[FeatureReference]]


def policy_of(section: DriftSection) -> DriftPolicy:
    return DriftPolicy(window_rows=section.window_rows, alpha=section.alpha,
                       correction=section.correction, k=section.k, n=section.n,
                       psi_bins=section.psi_bins, fine_bins=section.fine_bins,
                       max_categories=section.max_categories)


def fetch(url: str, after: int, limit: int = READ_ROWS) -> dict[str, Any] | None:
    """A model server's sampled rows after `after`, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/samples?after={after}&limit={limit}",  # noqa: S310
                                    timeout=FETCH_TIMEOUT_S) as reply:
            found = json.loads(reply.read())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("input") else None


class DriftWatch:
    def __init__(self, lab: Lab, store: Store, config: LabConfig,
                 deployments: Callable[[], list[Deployment]]) -> None:
        self.lab, self.store, self.config, self.deployments = lab, store, config, deployments
        self.policy = policy_of(config.drift)
        self._seq: dict[tuple[str, str, str], int] | None = None  # (deployment, version, instance)
        self._instances: dict[tuple[str, str, str], str] = {}  # (deployment, version, handle)
        self._next_row: dict[tuple[str, str], int] = {}
        self._references: dict[str, References] = {}
        self._lock = threading.Lock()  # one profile at a time

    def handlers(self) -> Handlers:
        return {api.DRIFT: self.op_drift}

    def loop(self, writer: GroupWriter, stopping: threading.Event) -> None:
        every(self.config.drift.interval_s, stopping, "drift", lambda: self.tick(writer))

    def tick(self, writer: GroupWriter) -> int:
        """Collect every live replica's new samples, then check new whole windows; the
        number of windows checked."""
        deployments = self.deployments()
        sampled = [e for d in deployments for e in self.collect(d)]
        if sampled:
            writer.write(None, sampled)
        checked = 0
        # every served version, not only those sampled now: rows stored while a check
        # could not run (a service restart, a profile that failed) are checked as well
        served = {(d.name, r.version) for d in deployments for r in d.replicas if r.role != "stopped"}
        for version in served | {(e.deployment, e.version) for e in sampled}:
            events = self.check(*version, writer)
            checked += sum(isinstance(e, DriftWindowChecked) for e in events)
            if events:
                writer.write(None, events)
        return checked

    # collecting ---------------------------------------------------------------

    def collect(self, d: Deployment) -> list[DriftSampled]:
        if self._seq is None:
            self._seq = q.cursors(self.store)
        found = []
        for r in d.replicas:
            if not r.alive or r.role == "stopped":
                continue
            instance = self._instances.get((d.name, r.version, r.handle))
            if instance is None:  # the first time: which server is it (its rows may be stored)
                head = fetch(r.url, 0, 0)
                if head is None:
                    continue
                instance = self._instances[(d.name, r.version, r.handle)] = str(head["instance"])
            for _ in range(10):  # a server with more than READ_ROWS new rows: read on
                event = self._read(d.name, r.version, r.url, instance)
                if event is None:
                    break
                found.append(event)
                if len(event.rows) < READ_ROWS:
                    break
        return found

    def _read(self, name: str, version: str, url: str, instance: str) -> DriftSampled | None:
        assert self._seq is not None
        key = (name, version, instance)
        got = fetch(url, self._seq.get(key, 0))
        if got is None or got["instance"] != instance:
            self._instances = {k: v for k, v in self._instances.items() if v != instance}
            return None
        rows = got["rows"]
        if not rows and not got["dropped"]:
            return None
        first = self._next_row.get((name, version))
        if first is None:
            first = q.next_row(self.store, name, version)
        self._seq[key] = int(got["last_seq"]) if rows else self._seq.get(key, 0)
        self._next_row[(name, version)] = first + len(rows)
        keep = self._keep_from(name, version, first + len(rows))
        return DriftSampled(ts=time.time(), deployment=name, version=version, instance=instance,
                            seq=self._seq[key], first_row=first, rows=rows,
                            dropped=int(got["dropped"]), keep_from=keep)

    def _keep_from(self, name: str, version: str, next_row: int) -> int | None:
        oldest = next_row - self.config.drift.keep_rows
        if oldest <= 0:
            return None
        return min(oldest, q.checked_up_to(self.store, name, version)[1])

    # checking ---------------------------------------------------------------

    def check(self, name: str, version: str, writer: GroupWriter) -> list[Any]:
        """The windows of a deployment version that are whole and not checked yet."""
        found = self.reference_of(name, version, writer)
        if found is None or found[0].problem:
            return []
        reference, features = found
        index, first = q.checked_up_to(self.store, name, version)
        size = self.policy.window_rows
        whole = min((q.next_row(self.store, name, version) - first) // size, MAX_WINDOWS_PER_CHECK)
        if whole <= 0:
            return []
        counts = q.window_counts(self.store, name, version, first, whole, size, features)
        now = time.time()
        events: list[Any] = []
        for w, scores in enumerate(check_windows(features, counts, self.policy)):
            events.append(DriftWindowChecked(
                ts=now, deployment=name, version=version, model_version_id=reference.model_version_id,
                index=index + w, first_row=first + w * size, rows=size,
                drifted=any(s.drifted for s in scores), features=[s.to_dict() for s in scores]))
        return events + self._review(name, version, reference, events)

    def _review(self, name: str, version: str, reference: DriftReference,
                new: list[DriftWindowChecked]) -> list[DriftReviewOpened]:
        last = [w.features for w in q.windows(self.store, name, version, self.policy.n)]
        last += [[FeatureScore.of(f) for f in e.features] for e in new]
        decision = decide(last, self.policy)
        if not decision.drifting or q.has_open_review(self.store, name, version):
            return []
        return [DriftReviewOpened(ts=time.time(), id=uuid.uuid4().hex[:12], deployment=name,
                                  version=version, model_version_id=reference.model_version_id,
                                  features=list(decision.features),
                                  message=decision.message(name, self.policy))]

    # the reference ------------------------------------------------------------

    def reference_of(self, name: str, version: str, writer: GroupWriter | None) -> References | None:
        """The profile of the model version a deployment version serves (made and stored
        the first time it is needed, when `writer` is given); None when it serves none."""
        version_row = q.model_version_of(self.store, name, version)
        if version_row is None:
            return None
        mv_id = str(version_row["id"])
        if mv_id in self._references:
            return self._references[mv_id]
        with self._lock:
            found = q.reference(self.store, mv_id)
            if found is None and writer is not None:
                event = self.profile(version_row)
                writer.write(None, [event])
                found = q.reference(self.store, mv_id)
            if found is not None:
                self._references[mv_id] = found
            return found

    def profile(self, version_row: dict[str, Any]) -> DriftReferenceProfiled:
        """Read the training data of a model version and profile its features."""
        now, mv_id = time.time(), str(version_row["id"])
        try:
            table, source = self._training_table(version_row)
            skip = {version_row["target"], *(version_row["exclude"] or []), version_row["sensitive"]}
            columns = {c: _numbers(table, c) for c in table.column_names if c not in skip}
        except MlopslabError as e:
            return DriftReferenceProfiled(ts=now, model_version_id=mv_id, source="", rows=0,
                                          problem=e.message)
        features = profile(columns, self.policy)
        return DriftReferenceProfiled(ts=now, model_version_id=mv_id, source=source, rows=table.num_rows,
                                      features=[asdict(f) for f in features])

    def _training_table(self, v: dict[str, Any]) -> tuple[pa.Table, str]:
        train = str(v["train_data"] or "")
        if train.startswith("sha256:") and self.lab.artifact_path(train[7:]).is_file():
            return read_table(self.lab.artifact_path(train[7:])), f"training data {train}"
        tables, names = [], []
        for name, digest, path in q.run_inputs(self.store, v["run_id"]) if v["run_id"] else []:
            if _unchanged(Path(path), digest):
                tables.append(read_table(Path(path)))
                names.append(f"{name} ({path})")
        if tables:
            return pa.concat_tables(tables, promote_options="permissive"), f"run inputs {', '.join(names)}"
        holdout = str(v["holdout_data"] or "")
        if holdout.startswith("sha256:") and self.lab.artifact_path(holdout[7:]).is_file():
            return (read_table(self.lab.artifact_path(holdout[7:])),
                    f"holdout data {holdout} (the training data {train or '?'} is not readable)")
        raise MlopslabError(f"the training data {train or '?'} of model version {v['name']}@{v['version']} "
                            "is not readable")

    # the alert and the report -------------------------------------------------

    def conditions(self, now: float) -> list[Condition]:
        found = []
        for d in self.deployments():
            if not d.active_version:
                continue
            windows = q.windows(self.store, d.name, d.active_version, self.policy.n)
            decision = decide([w.features for w in windows], self.policy)
            if decision.drifting:
                found.append(Condition(
                    "drift", f"deployment:{d.name}", "warning", decision.message(d.name, self.policy),
                    {"deployment": d.name, "version": d.active_version, "windows": decision.windows,
                     "drifted": decision.drifted, "features": decision.features}))
        return found

    def op_drift(self, name: str, windows: int = 20) -> DriftReport:
        d = next((d for d in self.deployments() if d.name == name), None)
        if d is None:
            raise NotFound(f"no deployment '{name}'", "list them with `mlopslab deployments`")
        version = d.active_version
        found = self.reference_of(name, version, None) if version else None
        history = q.windows(self.store, name, version, max(windows, self.policy.n)) if version else []
        decision = decide([w.features for w in history], self.policy)
        rows, dropped = q.collected(self.store, name, version) if version else (0, 0)
        mv = q.model_version_of(self.store, name, version) if version else None
        status, message = _status(d, mv, found, history, decision.drifting, rows, self.policy)
        if decision.drifting:
            message = decision.message(name, self.policy)
        return DriftReport(
            deployment=name, version=version, model_version_id=str(mv["id"]) if mv else None,
            status=status, drifting=decision.drifting, message=message, policy=self.policy,
            reference=found[0] if found else None, rows_collected=rows, rows_dropped=dropped,
            latest=history[-1] if history else None,
            history=[_summary(w) for w in reversed(history[-windows:])],
            reviews=q.reviews(self.store, name))


def _status(d: Deployment, mv: dict[str, Any] | None, found: References | None,
            history: list[DriftWindow],
            drifting: bool, rows: int, policy: DriftPolicy) -> tuple[str, str]:
    if not d.active_version:
        return "no reference", f"deployment {d.name} serves no version"
    if mv is None:
        return "no reference", (f"version {d.active_version} of {d.name} serves no registered model "
                                "version, so there is no training data to compare with")
    if found is not None and found[0].problem:
        return "no reference", found[0].problem
    if drifting:
        return "drifting", ""
    if not history:
        return "collecting", (f"{rows} rows sampled; the first window is checked at "
                              f"{policy.window_rows} rows")
    return "stable", (f"fewer than {policy.k} of the last {policy.n} windows drifted")


def _summary(w: DriftWindow) -> DriftWindow:
    return replace(w, features=[])


def _numbers(table: pa.Table, column: str) -> np.ndarray:
    kind = table.schema.field(column).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind)):
        raise MlopslabError(f"feature '{column}' of the training data is {kind}, not a number: the "
                            "served input is one numeric row")
    return np.asarray(table[column].cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _unchanged(path: Path, digest: str) -> bool:
    algorithm, _, value = digest.partition(":")
    hashers = {"sha256": sha256_file, "md5": md5_file}
    return path.is_file() and (algorithm not in hashers or hashers[algorithm](path) == value)
