"""Registry queries: models, versions, aliases and their history, gate reports, lineage.

Plain functions over a `Store` that answer the registry's nouns (core/model_versions.py,
core/gate_reports.py, core/registry.py, core/lineage.py); the service's registry
operations call them. All SQL is parameterized.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from mlopslab.core.errors import NotFound
from mlopslab.core.gate_reports import GateReport, GateReportInfo, GateReportSummary
from mlopslab.core.gates import Check, GatesSpec
from mlopslab.core.lineage import (
    DataNode,
    DecisionNode,
    DeploymentNode,
    Edge,
    GateNode,
    ModelNode,
    Node,
    RunNode,
    Way,
)
from mlopslab.core.model_versions import (
    FeatureSchema,
    GateResult,
    ModelSummary,
    ModelVersion,
    VersionInfo,
    VersionSummary,
)
from mlopslab.core.refs import ModelRef
from mlopslab.core.registry import AliasMove, EvaluationSet

if TYPE_CHECKING:
    from mlopslab.store.db import Store

T = TypeVar("T")
TIMES = frozenset({"created_at", "updated_at", "ts"})

JSON_COLUMNS = {"exclude", "scores", "groups", "schema", "deps", "gates", "info", "failed",
                "spec", "detail"}
VERSION_SUMMARY = ("name, version, sha256, size, source, run_id, train_data, holdout_data, "
                   "task, primary_metric, direction, scores, created_at, created_by")


def rows(store: Store, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    return store.rows(sql, args, JSON_COLUMNS)


def noun(cls: type[T], row: dict[str, Any], **more: Any) -> T:
    """A noun from a row of the same names (timestamps, ISO text in UTC, as datetimes)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: datetime.fromisoformat(v) if k in TIMES and isinstance(v, str) else v
              for k, v in row.items() if k in names}
    return cls(**values, **more)


# models and versions ------------------------------------------------------


def list_models(store: Store) -> list[ModelSummary]:
    """One per model name: version count, latest version, aliases."""
    found = rows(store, "SELECT name, count(*) AS versions, max(version) AS latest, "
                 "min(created_at) AS created_at, max(created_at) AS updated_at "
                 "FROM model_versions GROUP BY name ORDER BY name", [])
    return [noun(ModelSummary, m, aliases=aliases(store, m["name"])) for m in found]


def model_names(store: Store) -> list[str]:
    return [r["name"] for r in rows(store, "SELECT DISTINCT name FROM model_versions ORDER BY name", [])]


def list_versions(store: Store, name: str) -> list[VersionSummary]:
    """Versions of `name`, newest first, each with its aliases and latest gate result."""
    found = rows(store, f"SELECT {VERSION_SUMMARY} FROM model_versions WHERE name = ? "  # noqa: S608
                 "ORDER BY version DESC", [name])
    if not found:
        raise NotFound(f"no model '{name}'", "list models with `mlopslab models ls`")
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases(store, name).items():
        by_version.setdefault(version, []).append(alias)
    gates = {r["version"]: r for r in rows(
        store, "SELECT version, arg_max(passed, created_at) AS passed, "
        "arg_max(id, created_at) AS report_id FROM gate_reports WHERE name = ? GROUP BY version",
        [name])}
    return [noun(VersionSummary, v, aliases=sorted(by_version.get(v["version"], [])),
                 gate=_gate_result(gates.get(v["version"]))) for v in found]


def _gate_result(row: dict[str, Any] | None) -> GateResult | None:
    return None if row is None else GateResult(passed=row["passed"], report_id=row["report_id"])


def get_version(store: Store, name: str, version: int) -> ModelVersion:
    found = rows(store, "SELECT * FROM model_versions WHERE name = ? AND version = ?", [name, version])
    if not found:
        raise NotFound(f"no version {version} of model '{name}'",
                       f"list its versions with `mlopslab models ls {name}`")
    row = found[0]
    documents = {"schema": None if row["schema"] is None else FeatureSchema.from_stored(row["schema"]),
                 "gates": None if row["gates"] is None else GatesSpec.from_stored(row["gates"]),
                 "info": VersionInfo.from_stored(row["info"])}
    return noun(ModelVersion, {**row, **documents},
                aliases=sorted(a for a, n in aliases(store, name).items() if n == version))


def resolve(store: Store, ref: ModelRef) -> ModelVersion:
    """The version a ModelRef names: by number, by alias, or the latest."""
    if ref.version is not None:
        return get_version(store, ref.name, ref.version)
    if ref.alias is not None:
        version = aliases(store, ref.name).get(ref.alias)
        if version is None:
            raise NotFound(f"model '{ref.name}' has no alias '{ref.alias}'",
                           f"its aliases: {', '.join(aliases(store, ref.name)) or 'none'}")
        return get_version(store, ref.name, version)
    found = rows(store, "SELECT max(version) AS v FROM model_versions WHERE name = ?", [ref.name])
    if not found or found[0]["v"] is None:
        raise NotFound(f"no model '{ref.name}'", "list models with `mlopslab models ls`")
    return get_version(store, ref.name, int(found[0]["v"]))


def version_by_sha(store: Store, name: str, sha256: str, run_id: str | None) -> ModelVersion | None:
    found = rows(store, "SELECT version FROM model_versions WHERE name = ? AND sha256 = ? "
                 "AND run_id IS NOT DISTINCT FROM ?", [name, sha256, run_id])
    return get_version(store, name, found[0]["version"]) if found else None


# aliases ------------------------------------------------------------------


def aliases(store: Store, name: str) -> dict[str, int]:
    return {r["alias"]: r["version"] for r in rows(
        store, "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", [name])}


def alias_history(store: Store, name: str, alias: str | None = None) -> list[AliasMove]:
    sql = ("SELECT name, alias, from_version, to_version, ts, actor, reason, forced, report_id "
           "FROM alias_history WHERE name = ?")
    args: list[Any] = [name]
    if alias is not None:
        sql += " AND alias = ?"
        args.append(alias)
    return [noun(AliasMove, r) for r in rows(store, sql + " ORDER BY ts, alias", args)]


def unregistered_finished_runs(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Finished runs that ended after `since` and produced no model version yet."""
    return rows(store, "SELECT r.id, r.recipe_path FROM runs r WHERE r.status = 'finished' "
                "AND r.ended_at >= ? AND NOT EXISTS (SELECT 1 FROM model_versions v "
                "WHERE v.run_id = r.id) AND NOT EXISTS (SELECT 1 FROM audit a WHERE "
                "a.action = 'model.register_failed' AND a.target = r.id) ORDER BY r.ended_at",
                [since.astimezone(UTC).replace(tzinfo=None)])


def run_tags(store: Store, run_id: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in store.cursor().execute(
        "SELECT key, value FROM run_tags WHERE run_id = ?", [run_id]).fetchall()}


# gate reports -------------------------------------------------------------


def gate_report(store: Store, report_id: str) -> GateReport:
    found = rows(store, "SELECT * FROM gate_reports WHERE id = ? OR starts_with(id, ?) "
                 "ORDER BY id = ? DESC LIMIT 2", [report_id, report_id, report_id])
    if not found or (len(found) > 1 and found[0]["id"] != report_id):
        raise NotFound(f"no gate report '{report_id}'" if not found
                       else f"gate report id '{report_id}' is ambiguous",
                       "a version's reports: `mlopslab models show NAME@N --json` (reports)"
                       if not found else "give more characters")
    report = found[0]
    checks = rows(store, "SELECT gate, name, value, limit_value AS \"limit\", op, passed, detail "
                  "FROM gate_checks WHERE report_id = ? ORDER BY idx", [report["id"]])
    documents = {"spec": None if report["spec"] is None else GatesSpec.from_stored(report["spec"]),
                 "info": GateReportInfo.from_stored(report["info"])}
    return noun(GateReport, {**report, **documents}, checks=[Check(**c) for c in checks])


def latest_report(store: Store, name: str, version: int) -> GateReport | None:
    found = rows(store, "SELECT id FROM gate_reports WHERE name = ? AND version = ? "
                 "ORDER BY created_at DESC LIMIT 1", [name, version])
    return gate_report(store, found[0]["id"]) if found else None


def reports_of(store: Store, name: str, version: int) -> list[GateReportSummary]:
    return [noun(GateReportSummary, r) for r in rows(
        store, "SELECT id, champion_version, passed, failed, created_at, actor "
        "FROM gate_reports WHERE name = ? AND version = ? ORDER BY created_at DESC", [name, version])]


# evaluation sets ----------------------------------------------------------


def evaluation_sets(store: Store, name: str) -> list[EvaluationSet]:
    """Every evaluation set of model `name`, newest first (the first is in force)."""
    return [noun(EvaluationSet, r) for r in rows(
        store, "SELECT name, version, data, sha256, rows, source, reason, created_at, actor "
        "FROM evaluation_sets WHERE name = ? ORDER BY version DESC", [name])]


def evaluation_set(store: Store, name: str) -> EvaluationSet | None:
    found = evaluation_sets(store, name)
    return found[0] if found else None


# lineage ------------------------------------------------------------------


def data_node(store: Store, key: str) -> DataNode | Node:
    found = rows(store, "SELECT hash, source, path, size FROM datasets WHERE hash = ? "
                 "OR starts_with(hash, ?) OR starts_with(hash, 'sha256:' || ?) LIMIT 2",
                 [key, key, key])
    if len(found) == 1:
        d = found[0]
        return DataNode(f"data:{d['hash']}", "data", d["path"] or "", source=d["source"], size=d["size"])
    used = rows(store, "SELECT DISTINCT holdout_data AS h FROM model_versions WHERE starts_with(holdout_data, ?) "
                "UNION SELECT DISTINCT train_data FROM model_versions WHERE starts_with(train_data, ?) "
                "UNION SELECT DISTINCT holdout_data FROM gate_reports WHERE starts_with(holdout_data, ?) "
                "UNION SELECT DISTINCT data FROM evaluation_sets WHERE starts_with(data, ?)",
                [key, key, key, key])
    if len(found) > 1 or len(used) > 1:
        raise NotFound(f"data version '{key}' is ambiguous", "give more characters")
    if used:
        return Node(f"data:{used[0]['h']}", "data", "")
    raise NotFound(f"no data version '{key}'", "write data:sha256:HASH (a prefix is enough)")


def run_node(store: Store, run_id: str) -> RunNode:
    run = store.get_run(run_id)
    return RunNode(f"run:{run.id}", "run", run.recipe, status=run.status,
                   data_version=run.data_version, code_version=run.code_version)


def model_node(store: Store, version: ModelVersion) -> ModelNode:
    return ModelNode(f"model:{version.ref}", "model", ",".join(version.aliases),
                     sha256=version.sha256, source=version.source)


def gate_node(store: Store, report_id: str) -> GateNode:
    r = gate_report(store, report_id)
    return GateNode(f"gate:{r.id}", "gate", "passed" if r.passed else "failed", passed=r.passed,
                    model=f"{r.name}@{r.version}", champion_version=r.champion_version)


def deployment_node(store: Store, name: str) -> DeploymentNode:
    found = rows(store, "SELECT name, backend, model_name, endpoint, active_version, status "
                 "FROM deployments WHERE name = ?", [name])
    if not found:
        raise NotFound(f"no deployment '{name}'", "list them with `mlopslab deployments ls`")
    d = found[0]
    return DeploymentNode(
        f"deployment:{d['name']}", "deployment", d["endpoint"] or "", backend=d["backend"],
        status=d["status"],
        serving=f"{d['model_name']}@{d['active_version']}" if d["active_version"] else None)


def decision_node(store: Store, decision_id: str) -> DecisionNode:
    from mlopslab.store.decision_store import decision

    found = decision(store, decision_id)
    if found is None:
        raise NotFound(f"no decision '{decision_id}'", "list them with `mlopslab decisions`")
    return DecisionNode(f"decision:{found.id}", "decision", f"{found.kind} {found.deployment}",
                        decision_status=found.status, reason=found.reason)


def _decisions(store: Store, sql: str, key: str) -> list[DecisionNode]:
    return [decision_node(store, r["id"]) for r in rows(store, sql, [key])]


def neighbours(store: Store, node: Node, way: Way) -> list[tuple[Edge, Node]]:
    """What is directly upstream or downstream of `node` (see core/lineage.py)."""
    kind, key = node.ref.split(":", 1)
    found: list[tuple[str, str, Node]] = []  # (relation, direction source->target, other)
    if kind == "data" and way == "down":
        for r in rows(store, "SELECT DISTINCT run_id FROM run_inputs WHERE dataset_hash = ?", [key]):
            found.append(("input of", "out", run_node(store, r["run_id"])))
        for v in rows(store, "SELECT name, version, source, train_data FROM model_versions "
                      "WHERE holdout_data = ? OR (source = 'file' AND train_data = ?)", [key, key]):
            relation = "trained" if v["train_data"] == key and v["source"] == "file" else "holdout of"
            found.append((relation, "out", model_node(store, get_version(store, v["name"], v["version"]))))
        for r in rows(store, "SELECT id FROM gate_reports WHERE holdout_data = ? ORDER BY created_at",
                      [key]):
            found.append(("evaluated on", "out", gate_node(store, r["id"])))
    elif kind == "run":
        if way == "up":
            for r in rows(store, "SELECT DISTINCT dataset_hash FROM run_inputs WHERE run_id = ?", [key]):
                found.append(("input of", "in", data_node(store, r["dataset_hash"])))
            for made in _decisions(store, "SELECT id FROM decisions WHERE run_id = ?", key):
                found.append(("retrained by", "in", made))
        else:
            for v in rows(store, "SELECT name, version FROM model_versions WHERE run_id = ?", [key]):
                found.append(("produced", "out", model_node(store, get_version(store, v["name"], v["version"]))))
    elif kind == "model":
        name, _, number = key.rpartition("@")
        version = get_version(store, name, int(number))
        if way == "up":
            if version.run_id:
                found.append(("produced", "in", run_node(store, version.run_id)))
            if version.source == "file":
                found.append(("trained", "in", data_node(store, version.train_data)))
            found.append(("holdout of", "in", data_node(store, version.holdout_data)))
        else:
            for report in reports_of(store, name, int(number)):
                found.append(("gated by", "out", gate_node(store, report.id)))
            for d in rows(store, "SELECT DISTINCT deployment FROM deployment_versions "
                          "WHERE model_version_id = ? ORDER BY deployment", [version.id]):
                found.append(("deployed as", "out", deployment_node(store, d["deployment"])))
    elif kind == "deployment" and way == "up":
        for d in rows(store, "SELECT m.name, m.version FROM deployment_versions dv "
                      "JOIN model_versions m ON m.id = dv.model_version_id "
                      "WHERE dv.deployment = ? ORDER BY m.version", [key]):
            found.append(("deployed as", "in", model_node(store, get_version(store, d["name"], d["version"]))))
    elif kind == "deployment" and way == "down":
        for made in _decisions(store, "SELECT id FROM decisions WHERE deployment = ? ORDER BY created_at",
                               key):
            found.append(("decided", "out", made))
    elif kind == "decision":
        for d in rows(store, "SELECT deployment, run_id FROM decisions WHERE id = ?", [key]):
            if way == "up":
                found.append(("decided", "in", deployment_node(store, d["deployment"])))
            elif d["run_id"]:
                found.append(("retrained by", "out", run_node(store, d["run_id"])))
    elif kind == "gate" and way == "up":
        gated = gate_report(store, key)
        found.append(("gated by", "in", model_node(store, get_version(store, gated.name, gated.version))))
        if gated.holdout_data:
            found.append(("evaluated on", "in", data_node(store, gated.holdout_data)))
    edges = []
    for relation, direction, other in found:
        source, target = (other.ref, node.ref) if direction == "in" else (node.ref, other.ref)
        edges.append((Edge(source, target, relation), other))
    return edges
