"""Decisions in the lab service (core/decisions.py): labelled feedback scored with a
deployment's active version, and the retraining it decides, moved on by a loop:
retraining run finished -> registered -> gated and promoted against the champion
-> deployed blue/green (the deployment's automatic rollback watches it)."""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopslab.api import monitor as api
from mlopslab.config import LabConfig, RetrainPolicy
from mlopslab.core.decision_events import DecisionChanged, FeedbackScored
from mlopslab.core.decisions import Decision, FeedbackResult, verdict
from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import DataValidationError, MlopslabError, NotFound
from mlopslab.core.events import ActionAudited
from mlopslab.core.model_versions import ModelVersion
from mlopslab.core.run import Run, RunSpec
from mlopslab.core.runs import FINAL
from mlopslab.lab import Lab
from mlopslab.service.dispatch import Handlers
from mlopslab.service.loops import every
from mlopslab.store import decision_store as dq
from mlopslab.store import models as mq

if TYPE_CHECKING:
    from mlopslab.service.deploy_ops import DeployOps
    from mlopslab.service.registry_ops import RegistryOps
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

ACTOR = "retrain"
ADVANCE_INTERVAL_S = 2.0


class DecisionOps:
    def __init__(self, lab: Lab, config: LabConfig, store: Store, writer: GroupWriter,
                 registry: RegistryOps, deploy: DeployOps, submit: Callable[[RunSpec], Run]) -> None:
        self.lab, self.config, self.store, self.writer = lab, config, store, writer
        self.registry, self.deploy, self.submit = registry, deploy, submit
        self._lock = threading.Lock()

    def handlers(self) -> Handlers:
        return {api.FEEDBACK: self.op_feedback, api.DECISIONS: self.op_decisions}

    # operations ---------------------------------------------------------------

    def op_decisions(self, deployment: str | None = None, limit: int = 200) -> list[Decision]:
        return dq.decisions(self.store, deployment, limit=limit)

    def op_feedback(self, deployment: str, data: str, actor: str | None = None) -> FeedbackResult:
        version = self._serving(deployment)
        policy = self.config.retrain.deployment.get(deployment)
        metric, value, rows = self._score(version, Path(data).expanduser(), policy)
        maximize = not (policy and policy.max_value is not None) and version.direction != "minimize"
        threshold = None if policy is None else policy.min_value if maximize else policy.max_value
        below, why = verdict(metric, value, threshold, maximize)
        scored = FeedbackScored(id="fb-" + secrets.token_hex(4), deployment=deployment,
                                version=version.ref, ts=time.time(), data=data, rows=rows,
                                metric=metric, value=value, threshold=threshold, below=below)
        self.writer.write(None, [scored, ActionAudited(
            ts=scored.ts, actor=actor, action="deployment.feedback", target=deployment,
            detail={"version": version.ref, "metric": metric, "value": value, "rows": rows})])
        decision = None
        if below and policy is not None:
            decision, why = self._maybe_retrain(deployment, version, policy, why)
        found = dq.feedback(self.store, scored.id)
        assert found is not None
        return FeedbackResult(feedback=found, decision=decision, why=why)

    # the loop ----------------------------------------------------------------

    def loop(self, stopping: threading.Event) -> None:
        every(ADVANCE_INTERVAL_S, stopping, "decisions", self.advance)

    def advance(self) -> None:
        """Move every open decision on as far as it can go now."""
        with self._lock:
            for decision in dq.decisions(self.store, open_only=True):
                if decision.status == "retraining":
                    self._after_run(decision)
                elif decision.status == "gating":
                    self._gate_and_deploy(decision)

    # parts -------------------------------------------------------------------

    def _serving(self, deployment: str) -> ModelVersion:
        if deployment not in self.deploy.deployments.names():
            raise NotFound(f"no deployment '{deployment}'", "list them with `mlopslab deployments`")
        d = self.deploy.deployments.show(deployment)
        if not d.active_version:
            raise NotFound(f"deployment '{deployment}' serves no version yet")
        return mq.get_version(self.store, d.model, int(d.active_version))

    def _score(self, version: ModelVersion, data: Path,
               policy: RetrainPolicy | None) -> tuple[str, float, int]:
        from mlopslab.evaluation.evaluate import evaluate
        from mlopslab.evaluation.gating import holdout_of
        from mlopslab.evaluation.onnx_model import load

        if not data.is_file():
            raise NotFound(f"no feedback file {data}",
                                  f"give labelled rows with the target column '{version.target}'")
        result = evaluate(load(self.lab.artifact_path(version.sha256)), holdout_of(version, data))
        metric = (policy.metric if policy and policy.metric else None) or version.primary_metric \
            or next(iter(result.scores))
        if metric not in result.scores:
            raise DataValidationError(f"feedback has no metric '{metric}'",
                                  f"it scores: {', '.join(sorted(result.scores))}")
        return metric, float(result.scores[metric]), result.rows

    def _maybe_retrain(self, deployment: str, version: ModelVersion, policy: RetrainPolicy,
                       why: str) -> tuple[Decision | None, str]:
        recent = dq.decisions(self.store, deployment, limit=1)
        if recent and recent[0].status in ("retraining", "gating"):
            return None, f"{why}; retraining is under way already ({recent[0].id})"
        cooldown = parse_duration(policy.cooldown)
        if recent and time.time() - recent[0].created_at.timestamp() < cooldown:
            return None, f"{why}; the last retraining was less than {policy.cooldown} ago ({recent[0].id})"
        if not version.run_id:
            return None, f"{why}; {version.ref} was registered from a file, so there is no recipe to retrain"
        run = self.submit(self._spec(self.store.get_run(version.run_id), policy))
        decision = DecisionChanged(
            id="dc-" + secrets.token_hex(4), deployment=deployment, decision="retrain",
            reason=why, status="retraining", from_version=version.ref, run_id=run.id, ts=time.time(),
            detail={"data": dict(policy.data)})
        self._write(decision, f"retraining {version.ref} as run {run.id}")
        return dq.decision(self.store, decision.id), f"{why}: retraining as run {run.id}"

    def _spec(self, run: Run, policy: RetrainPolicy) -> RunSpec:
        options = replace(run.options, data={**run.options.data, **policy.data}, from_scratch=True)
        return RunSpec(recipe=run.recipe, recipe_path=run.recipe_path, project=run.project,
                       seed=run.seed or 0, params=dict(run.params or {}), resources=run.resources,
                       options=options, user=ACTOR, priority=run.priority or 0)

    def _after_run(self, decision: Decision) -> None:
        assert decision.run_id is not None
        run = self.store.get_run(decision.run_id)
        if run.status not in FINAL:
            return
        if run.status != "finished":
            self._move(decision, "failed", f"the retraining run {run.id} ended {run.status}"
                       + (f": {run.reason}" if run.reason else ""))
            return
        name = decision.from_version.rpartition("@")[0]
        try:
            version = self.registry.op_register_run(run.id, name=name, actor=ACTOR)
        except MlopslabError as e:
            self._move(decision, "failed", f"registering run {run.id} failed: {e.message}")
            return
        self._move(decision, "gating", f"run {run.id} registered as {version.ref}",
                   new_version=version.ref)

    def _gate_and_deploy(self, decision: Decision) -> None:
        ref = decision.new_version
        assert ref is not None
        promotion = self.registry.op_promote(ref, actor=ACTOR)
        report = getattr(promotion, "report", None)
        report_id = report.id if report is not None else None
        if not promotion.promoted:
            self._move(decision, "rejected", f"{ref} not promoted: {promotion.why}",
                       report_id=report_id)
            return
        backend = self.deploy.deployments.backend_of(decision.deployment) or "process"
        try:
            self.deploy.op_deploy(ref, name=decision.deployment, backend=backend, actor=ACTOR)
        except MlopslabError as e:
            self._move(decision, "failed", f"{ref} passed its gates but deploying it failed: "
                       f"{e.message}", report_id=report_id)
            return
        self._move(decision, "deployed", f"{ref} passed its gates, is champion and serves "
                   f"{decision.deployment}", report_id=report_id)

    def _move(self, decision: Decision, status: str, reason: str, **changes: Any) -> None:
        fields = {"run_id": decision.run_id, "new_version": decision.new_version,
                  "report_id": decision.report_id, **changes}
        self._write(DecisionChanged(
            id=decision.id, deployment=decision.deployment, decision=decision.kind,
            reason=reason, status=status, from_version=decision.from_version, ts=time.time(),
            detail=decision.detail, **fields), reason)

    def _write(self, event: DecisionChanged, what: str) -> None:
        self.writer.write(None, [event, ActionAudited(
            ts=event.ts, actor=ACTOR, action=f"decision.{event.status}", target=event.deployment,
            detail={"decision": event.id, "run_id": event.run_id, "version": event.new_version})])
        print(f"decision {event.id} ({event.deployment}): {event.status}: {what}",
              file=sys.stderr, flush=True)

