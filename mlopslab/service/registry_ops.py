"""Registry operations of the lab service: register, alias, gate, promote, lineage.

Model evaluation (ONNX Runtime) runs here, in the process that owns the store,
so the CLI, the TUI and CI all get the same gates. Registration and promotion
are serialised by one lock; their facts go through the group writer like any
other write. Finished runs of recipes that declare `[model].register_as` are
registered by a background thread (`AutoRegistrar`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopslab.api import registry as api
from mlopslab.core.errors import MlopslabError, NotFound, RegistryError
from mlopslab.core.events import (
    ActionAudited,
    AliasMoved,
    EvaluationSetAdded,
    GatesChecked,
    LogsWritten,
    ModelVersionRegistered,
)
from mlopslab.core.gate_reports import EvaluationUsed, GateReport, GateVerdict
from mlopslab.core.gates import GatesSpec, load_gates_file
from mlopslab.core.lineage import Lineage, Node, lineage
from mlopslab.core.model_versions import (
    ModelSummary,
    ModelVersion,
    ModelVersionDetail,
    Registration,
    VersionSummary,
)
from mlopslab.core.recipe import Recipe, load_recipe
from mlopslab.core.refs import ModelRef, Ref, check_model_name, no_model, parse_model_ref, parse_ref
from mlopslab.core.registry import (
    CANDIDATE,
    CHAMPION,
    AliasHistory,
    AliasHistoryAt,
    AliasRemoval,
    EvaluationSet,
    GatedPromotion,
    Promotion,
    promotion_decision,
    user_alias,
    version_at,
)
from mlopslab.service.dispatch import Handlers
from mlopslab.store import models as q

if TYPE_CHECKING:
    from mlopslab.evaluation.registration import Record
    from mlopslab.lab import Lab
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

LAB_GATES_FILE = "gates.toml"
AUTO_INTERVAL_S = 1.0


class RegistryOps:
    def __init__(self, lab: Lab, store: Store, writer: GroupWriter,
                 stopping: threading.Event | None = None) -> None:
        self.lab, self.store, self.writer = lab, store, writer
        self._lock = threading.RLock()
        if stopping is not None:
            AutoRegistrar(self, stopping).start()

    def handlers(self) -> Handlers:
        return {api.MODELS: self.op_models, api.MODEL_VERSIONS: self.op_model_versions,
                api.MODEL_VERSION: self.op_model_version, api.GATE_REPORT: self.op_gate_report,
                api.ALIAS_HISTORY: self.op_alias_history, api.LINEAGE: self.op_lineage,
                api.EVALUATION_SETS: self.op_evaluation_sets, api.REGISTER_RUN: self.op_register_run,
                api.REGISTER_FILE: self.op_register_file, api.SET_ALIAS: self.op_set_alias,
                api.REMOVE_ALIAS: self.op_remove_alias, api.GATE: self.op_gate,
                api.SET_EVALUATION_SET: self.op_set_evaluation_set, api.PROMOTE: self.op_promote}

    # reads ----------------------------------------------------------------

    def op_models(self) -> list[ModelSummary]:
        return q.list_models(self.store)

    def op_model_versions(self, name: str) -> list[VersionSummary]:
        self._known(name)
        return q.list_versions(self.store, name)

    def op_model_version(self, ref: str) -> ModelVersionDetail:
        version = self._resolve(ref)
        return ModelVersionDetail.of(version, q.reports_of(self.store, version.name, version.version),
                                     q.latest_report(self.store, version.name, version.version))

    def op_gate_report(self, report_id: str) -> GateVerdict:
        return GateVerdict.of(q.gate_report(self.store, report_id))

    def op_alias_history(self, name: str, alias: str | None = None,
                         at: str | None = None) -> AliasHistory | AliasHistoryAt:
        self._known(name)
        history = q.alias_history(self.store, name, alias)
        if at is None:
            return AliasHistory(name=name, alias=alias, history=history)
        when = _aware(datetime.fromisoformat(at))
        chosen = alias or CHAMPION
        return AliasHistoryAt(name=name, alias=chosen, history=history, at=when,
                              version=version_at(q.alias_history(self.store, name, chosen), chosen, when))

    def op_lineage(self, ref: str) -> Lineage:
        parsed = parse_ref(ref)
        start = self._node(parsed)
        return lineage(start, lambda node, way: q.neighbours(self.store, node, way))

    # registration ---------------------------------------------------------

    def op_register_run(self, run_id: str, name: str | None = None, actor: str | None = None,
                        data: str | None = None, target: str | None = None) -> Registration:
        from mlopslab.evaluation.registration import from_run

        run = self.store.get_run(run_id)
        if run.status != "finished":
            raise RegistryError(f"run {run.id} is {run.status}; only finished runs register",
                                "wait for it, or register another run")
        recipe = _recipe_or_none(run.recipe_path)
        name = check_model_name(name or (recipe.model.register_as if recipe else None) or "")
        with self._lock:
            record = from_run(self.lab, run, recipe, name, data, target, self._existing)
            return self._record(record, actor, f"run:{run.id}")

    def op_register_file(self, path: str, name: str, data: str, target: str,
                         sensitive: str | None = None, exclude: list[str] | None = None,
                         train_data: str | None = None, primary: str | None = None,
                         actor: str | None = None, gates: str | None = None) -> Registration:
        from mlopslab.evaluation.registration import from_file

        check_model_name(name)
        spec = load_gates_file(Path(gates), name) if gates else None
        with self._lock:
            record = from_file(self.lab, Path(path), name, Path(data), target, sensitive,
                               list(exclude or []), Path(train_data) if train_data else None,
                               primary, spec, self._existing)
            return self._record(record, actor, f"file:{path}")

    def _existing(self, name: str, sha256: str, run_id: str | None) -> ModelVersion | None:
        return q.version_by_sha(self.store, name, sha256, run_id)

    def _record(self, record: Record, actor: str | None, source: str) -> Registration:
        """The version registered: `record` (the new version's fields) written, or there already."""
        if isinstance(record, ModelVersion):
            return Registration.of(record, created=False)
        version = {**record, "created_by": actor or "unknown"}
        now = time.time()
        self.writer.write(None, [
            ModelVersionRegistered(version=version, ts=now, aliases=[CANDIDATE]),
            _audit(actor, "model.register", version["name"], {"source": source, "sha256": version["sha256"]}),
        ])
        found = q.version_by_sha(self.store, version["name"], version["sha256"], version.get("run_id"))
        assert found is not None
        return Registration.of(found, created=True)

    # aliases --------------------------------------------------------------

    def op_set_alias(self, ref: str, alias: str, actor: str | None = None,
                     reason: str | None = None) -> ModelVersion:
        user_alias(alias)
        version = self._resolve(ref)
        self._move(version.name, alias, version.version, actor, reason)
        return q.get_version(self.store, version.name, version.version)

    def op_remove_alias(self, name: str, alias: str, actor: str | None = None,
                        reason: str | None = None) -> AliasRemoval:
        user_alias(alias)
        self._known(name)
        if alias not in (found := q.aliases(self.store, name)):
            raise NotFound(f"model '{name}' has no alias '{alias}'",
                           f"its aliases: {', '.join(found) or 'none'}")
        self._move(name, alias, None, actor, reason)
        return AliasRemoval(name=name, alias=alias, removed=True)

    def _move(self, name: str, alias: str, version: int | None, actor: str | None,
              reason: str | None, forced: bool = False, report_id: str | None = None) -> None:
        self.writer.write(None, [
            AliasMoved(name=name, alias=alias, to_version=version, ts=time.time(), actor=actor,
                       reason=reason, forced=forced, report_id=report_id),
            _audit(actor, "model.promote" if alias == CHAMPION else "model.alias", f"{name}:{alias}",
                   {"to_version": version, "reason": reason, "forced": forced, "report_id": report_id}),
        ])

    # gates and promotion --------------------------------------------------

    def op_gate(self, ref: str, actor: str | None = None, gates: str | None = None,
                data: str | None = None) -> GateVerdict:
        from mlopslab.evaluation.gating import run_gates

        candidate = self._resolve(ref)
        champion = self._champion(candidate.name)
        evaluation = self._evaluation_data(candidate, data)
        report = {**run_gates(
            candidate, self.lab.artifact_path(candidate.sha256), champion,
            self.lab.artifact_path(champion.sha256) if champion else None,
            self._spec(candidate, gates), self.lab.artifact_path(evaluation.sha256),
            evaluation, self.lab.artifacts), "actor": actor}
        self.writer.write(None, [
            GatesChecked(report=report, ts=time.time()),
            _audit(actor, "model.gate", candidate.ref,
                   {"report_id": report["id"], "passed": report["passed"], "failed": report["failed"]}),
        ])
        return self.op_gate_report(report["id"])

    def op_evaluation_sets(self, name: str) -> list[EvaluationSet]:
        self._known(name)
        return q.evaluation_sets(self.store, name)

    def op_set_evaluation_set(self, name: str, data: str, actor: str | None = None,
                              reason: str | None = None) -> EvaluationSet:
        """A new evaluation set for model `name`: later gates compare on it."""
        from mlopslab.evaluation.onnx_model import read_table
        from mlopslab.evaluation.registration import store_data

        self._known(name)
        table = read_table(Path(data))  # refuses what is no table, before storing it
        latest = q.list_versions(self.store, name)[0]
        target = q.get_version(self.store, name, latest.version).target
        if table.num_rows == 0 or target not in table.column_names:
            raise RegistryError(
                f"{data} holds {table.num_rows} rows with columns {', '.join(table.column_names[:6])}: "
                f"an evaluation set needs rows and the target column '{target}'",
                "give a CSV or Parquet file of labelled rows that no version trained on")
        rows = table.num_rows
        with self._lock:
            data_version, sha = store_data(self.lab, Path(data))
            self.writer.write(None, [
                EvaluationSetAdded(ts=time.time(), evaluation_set={
                    "name": name, "data": data_version, "sha256": sha, "rows": rows,
                    "source": f"file:{data}", "reason": reason, "actor": actor}),
                _audit(actor, "model.evaluation_set", name, {"data": data_version, "reason": reason}),
            ])
            return q.evaluation_sets(self.store, name)[0]

    def _on_current_set(self, report: GateReport) -> bool:
        """Was the report made on the evaluation set in force now?"""
        current = q.evaluation_set(self.store, report.name)
        used = report.evaluation_used()
        return current is None or (used is not None and used.set == current.version)

    def _evaluation_data(self, candidate: ModelVersion, data: str | None) -> EvaluationUsed:
        """What a gate evaluates on: `--data`, else the model's evaluation set, else (a model
        registered before evaluation sets existed) the candidate's holdout."""
        from mlopslab.evaluation.registration import store_data

        if data:
            data_version, sha = store_data(self.lab, Path(data))
            return EvaluationUsed(data=data_version, sha256=sha, set=None, source=f"--data {data}")
        current = q.evaluation_set(self.store, candidate.name)
        if current is not None:
            return EvaluationUsed(data=current.data, sha256=current.sha256, set=current.version,
                                  source=current.source)
        return EvaluationUsed(data=candidate.holdout_data, sha256=candidate.holdout_sha256, set=None,
                              source=f"holdout of {candidate.ref}")

    def op_promote(self, ref: str, actor: str | None = None, force: bool = False,
                   reason: str | None = None, gates: str | None = None) -> GatedPromotion | Promotion:
        with self._lock:
            version = self._resolve(ref)
            name, number = version.name, version.version
            champion = q.aliases(self.store, name).get(CHAMPION)
            if champion == number:
                return Promotion(name=name, version=number, from_version=champion, forced=False,
                                 promoted=False, why=f"{name}@{number} is already the champion")
            report: GateReport | None = q.latest_report(self.store, name, number)
            if not force and (report is None or report.champion_version != champion or gates
                              or not self._on_current_set(report)):
                report = self.op_gate(f"{name}@{number}", actor, gates)
            allowed, why = promotion_decision(report, number, champion, force, reason)
            if allowed:
                self._move(name, CHAMPION, number, actor, reason.strip() if force and reason else why,
                           forced=force, report_id=report.id if report else None)
            return GatedPromotion(name=name, version=number, from_version=champion,
                                  forced=force and allowed, promoted=allowed, why=why,
                                  report=GateVerdict.of(report) if report else None)

    # helpers --------------------------------------------------------------

    def _resolve(self, ref: str | ModelRef) -> ModelVersion:
        parsed = parse_model_ref(ref) if isinstance(ref, str) else ref
        self._known(parsed.name)
        return q.resolve(self.store, parsed)

    def _known(self, name: str) -> None:
        """NotFound naming the models there are, for a name with no versions."""
        names = q.model_names(self.store)
        if name not in names:
            raise no_model(name, names)

    def _champion(self, name: str) -> ModelVersion | None:
        number = q.aliases(self.store, name).get(CHAMPION)
        return None if number is None else q.get_version(self.store, name, number)

    def _spec(self, version: ModelVersion, gates: str | None) -> GatesSpec:
        """--gates FILE, else the lab's gates.toml, else the recipe's [gates], else defaults."""
        if gates:
            spec = load_gates_file(Path(gates), version.name)
            if spec is None:
                raise NotFound(f"{gates} has no gates for model '{version.name}'",
                               f"add a [models.{version.name}] or a [gates] table to it")
            return spec
        lab_file = self.lab.root / LAB_GATES_FILE
        if lab_file.is_file() and (spec := load_gates_file(lab_file, version.name)):
            return spec
        return version.gates or GatesSpec()

    def _node(self, ref: Ref | ModelRef) -> Node:
        if isinstance(ref, ModelRef):
            return q.model_node(self.store, self._resolve(ref))
        if ref.kind == "run":
            return q.run_node(self.store, ref.key)
        if ref.kind == "data":
            return q.data_node(self.store, ref.key)
        if ref.kind == "gate":
            return q.gate_node(self.store, ref.key)
        if ref.kind == "deployment":
            return q.deployment_node(self.store, ref.key)
        if ref.kind == "decision":
            return q.decision_node(self.store, ref.key)
        raise NotFound(f"no {ref.kind} '{ref.key}'")


class AutoRegistrar(threading.Thread):
    """Registers the model of each finished run whose recipe says `[model].register_as`, or
    whose script asked for it (`log_model(register_as=...)`: the run's tags)."""

    def __init__(self, ops: RegistryOps, stopping: threading.Event) -> None:
        super().__init__(name="auto-register", daemon=True)
        self.ops, self.stopping = ops, stopping
        self.since = datetime.now(UTC) - timedelta(hours=1)
        self.seen: set[str] = set()

    def run(self) -> None:
        while not self.stopping.wait(AUTO_INTERVAL_S):
            try:
                self.sweep()
            except Exception as e:  # noqa: BLE001 - keep watching
                print(f"auto-register failed: {e!r}", flush=True)

    def sweep(self) -> None:
        for run in q.unregistered_finished_runs(self.ops.store, self.since):
            if run["id"] in self.seen:
                continue
            self.seen.add(run["id"])
            recipe = _recipe_or_none(run["recipe_path"])
            tags = q.run_tags(self.ops.store, run["id"])
            name, target = tags.get("mlopslab.register_as"), tags.get("mlopslab.target")
            if not (recipe and recipe.model.register_as) and not name:
                continue
            try:
                version = self.ops.op_register_run(run["id"], name=None if recipe else name,
                                                   actor="auto-register", target=None if recipe else target)
                line = f"registered model {version.ref}"
            except MlopslabError as e:
                line = f"model registration failed: {e.message}"
                self.ops.writer.write(None, [_audit("auto-register", "model.register_failed",
                                                    run["id"], {"error": e.message})])
            self.ops.writer.write(None, [LogsWritten(run_id=run["id"],
                                                     lines=[[time.time(), "mlopslab", line]])])


def _recipe_or_none(path: str) -> Recipe | None:
    try:
        return load_recipe(path)
    except MlopslabError:
        return None


def _aware(when: datetime) -> datetime:
    return when.astimezone(UTC) if when.tzinfo is None else when


def _audit(actor: str | None, action: str, target: str, detail: dict[str, Any]) -> ActionAudited:
    return ActionAudited(ts=time.time(), actor=actor or "unknown", action=action, target=target,
                         detail=detail)

