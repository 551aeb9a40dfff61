"""Evaluation gates: what a candidate model version must pass before promotion.

Four gates, declared in a recipe's `[gates]` table, a lab's `gates.toml` or a
file given to `mlopslab gate --gates` (docs/registry.md):

- regression: per metric, absolute thresholds and the worsening allowed against
  the current champion, both measured on the same holdout data;
- bias: group fairness metrics over a sensitive attribute, with limits;
- latency: p50/p95/p99 of inference at batch 1 and a configured batch;
- integrity: the model loads, its schema matches the champion's (or the change is
  declared), its outputs are finite on the holdout.

Every check becomes a row of the stored gate report: its number, its limit and
whether it passed. A failed gate is a result, not an exception.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError
from pydantic.dataclasses import dataclass as record

from mlopslab.core.errors import RecipeError
from mlopslab.core.fairness import DIFFERENCES
from mlopslab.core.records import Record
from mlopslab.core.scoring import Direction, direction_of
from mlopslab.core.strict import Strict

if TYPE_CHECKING:
    from mlopslab.core.model_versions import FeatureSchema

GATES = ("integrity", "regression", "bias", "latency")


class MetricGate(Strict):
    """Limits on one evaluation metric."""

    direction: Literal["maximize", "minimize"] | None = None  # default: from the metric's name
    min: float | None = None
    max: float | None = None
    max_regression: float | None = Field(
        default=0.0, ge=0, description="Worsening allowed against the champion (absolute); "
        "null: do not compare with the champion")


class BiasGate(Strict):
    """Group fairness over `attribute`, a column of the holdout data."""

    attribute: str
    demographic_parity_difference: float | None = Field(default=None, ge=0)
    equalized_odds_difference: float | None = Field(default=None, ge=0)
    accuracy_difference: float | None = Field(default=None, ge=0)
    min_group_accuracy: float | None = Field(default=None, ge=0, le=1)


class LatencyGate(Strict):
    """Inference latency budgets (milliseconds) at batch 1 and at `batch_size`."""

    provider: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=32, ge=1, le=65536)
    warmup: int = Field(default=10, ge=0)
    iterations: int = Field(default=200, ge=5, le=100_000)
    threads: int = Field(default=1, ge=0, description="intra-op threads; 0: ONNX Runtime's default")
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    batch_p50_ms: float | None = Field(default=None, gt=0)
    batch_p95_ms: float | None = Field(default=None, gt=0)
    batch_p99_ms: float | None = Field(default=None, gt=0)


class IntegrityGate(Strict):
    allow_schema_change: bool = False


class GatesSpec(Strict):
    """The gates of one model. An empty regression table checks the primary metric."""

    regression: dict[str, MetricGate] = {}
    bias: BiasGate | None = None
    latency: LatencyGate = LatencyGate()
    integrity: IntegrityGate = IntegrityGate()

    @classmethod
    def from_stored(cls, document: Mapping[str, Any]) -> GatesSpec:
        """The spec a stored JSON document holds (a version's gates, a report's spec).
        Unlike a gates file it may hold keys this mlopslab does not know (an older or a
        newer one wrote it): they are left out; a key it lacks takes its default."""
        table = _known(cls, document)
        if isinstance(table.get("regression"), Mapping):
            table["regression"] = {metric: _known(MetricGate, gate)
                                   for metric, gate in table["regression"].items()}
        for key, gate in (("bias", BiasGate), ("latency", LatencyGate), ("integrity", IntegrityGate)):
            if key in table:
                table[key] = _known(gate, table[key])
        return cls.model_validate(table)


def _known(model: type[Strict], document: Any) -> Any:
    """`document` without the keys `model` does not declare (what is no object: as it is)."""
    if not isinstance(document, Mapping):
        return document
    return {k: v for k, v in document.items() if k in model.model_fields}


@record(frozen=True)
class LatencyStats(Record):
    """Milliseconds of one `session.run` at one batch size, over `iterations` runs."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    iterations: int


@dataclass(frozen=True)
class Check:
    """One line of a gate report."""

    gate: str
    name: str
    value: float | None
    limit: float | None
    op: str | None  # >=, <= or "" (no limit); a stored check may hold none
    passed: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "name": self.name, "value": _finite(self.value),
                "limit": self.limit, "op": self.op, "passed": self.passed, "detail": self.detail}


def load_gates_file(path: Path, model: str | None = None) -> GatesSpec | None:
    """Gates from a TOML file: `[models.NAME]` for `model`, else a `[gates]` table that
    applies to every model, else the file itself is the gates table. None: nothing for `model`."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RecipeError(f"{path}: cannot read gates: {e}",
                          "a TOML file of [gates.*] tables; see docs/registry.md#gates") from e
    per_model = raw.get("models", {}).get(model) if model else None
    if per_model is not None:
        table = per_model.get("gates", per_model)
    elif "gates" in raw:
        table = raw["gates"]
    elif "models" in raw:
        return None
    else:
        table = raw
    try:
        return GatesSpec.model_validate(table)
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in e.errors())
        raise RecipeError(f"{path}: bad gates: {where}", "see docs/registry.md") from e


# the checks ---------------------------------------------------------------


def evaluation_checks(rows: int, seen: dict[str, tuple[str, int | None, str | None]]) -> list[Check]:
    """The evaluation rows must be unseen by every model compared on them.

    `seen` maps a role (`candidate`, `champion`) to (model label, how many evaluation
    rows it trained on, or None with why that cannot be told)."""
    checks = []
    for role, (label, count, why) in seen.items():
        detail: dict[str, Any] = {"model": label, "rows": rows}
        if count is None:
            detail["error"] = f"cannot tell which evaluation rows {label} trained on: {why}"
        elif count:
            detail["error"] = f"{label} trained on {count} of the {rows} evaluation rows"
        detail["seen"] = count
        checks.append(Check("evaluation", f"{role}_unseen", None if count is None else float(count),
                            0.0, "<=", count == 0, detail))
    return checks


def regression_checks(spec: GatesSpec, candidate: dict[str, float],
                      champion: dict[str, float] | None, champion_label: str | None,
                      primary: str, primary_direction: Direction,
                      refused: str | None = None) -> list[Check]:
    """Absolute bounds and the comparison with the champion; `refused` says why the
    champion's scores may not be compared (it trained on the evaluation rows)."""
    metrics = dict(spec.regression) or {primary: MetricGate(direction=primary_direction)}
    checks = []
    for metric, gate in metrics.items():
        direction = gate.direction or direction_of(
            metric, primary_direction if metric == primary else "maximize")
        value = candidate.get(metric)
        if value is None or math.isnan(value):
            checks.append(Check("regression", metric, None, None, "", False,
                                {"error": f"the candidate has no '{metric}' score"}))
            continue
        if gate.min is not None:
            checks.append(_bound("regression", f"{metric}:min", value, gate.min, ">="))
        if gate.max is not None:
            checks.append(_bound("regression", f"{metric}:max", value, gate.max, "<="))
        if gate.max_regression is not None:
            checks.append(_versus(metric, value, gate.max_regression, direction,
                                  champion, champion_label, refused))
    return checks


def _versus(metric: str, value: float, allowed: float, direction: Direction,
            champion: dict[str, float] | None, label: str | None, refused: str | None = None) -> Check:
    name = f"{metric}:vs_champion"
    if refused is not None:
        return Check("regression", name, value, None, "", False,
                     {"champion": label, "error": f"not compared: {refused}"})
    if champion is None:
        return Check("regression", name, value, None, "", True,
                     {"note": "no champion yet: nothing to regress from"})
    base = champion.get(metric)
    if base is None or math.isnan(base):
        return Check("regression", name, value, None, "", True,
                     {"note": f"the champion has no '{metric}' score", "champion": label})
    detail = {"champion": label, "champion_value": base, "max_regression": allowed,
              "direction": direction, "change": value - base}
    if direction == "maximize":
        return _bound("regression", name, value, base - allowed, ">=", detail)
    return _bound("regression", name, value, base + allowed, "<=", detail)


def bias_checks(spec: GatesSpec, metrics: dict[str, float] | None, error: str | None = None) -> list[Check]:
    gate = spec.bias
    if gate is None:
        return []
    if metrics is None:
        return [Check("bias", gate.attribute, None, None, "", False,
                      {"error": error or f"no column '{gate.attribute}' in the holdout data"})]
    per_group = {k: v for k, v in metrics.items() if "_group_" in k and not k.startswith("min_")}
    checks = []
    for name in DIFFERENCES:
        limit = getattr(gate, name)
        if limit is not None:
            checks.append(_bound("bias", name, metrics.get(name), limit, "<=",
                                 {"attribute": gate.attribute}))
    if gate.min_group_accuracy is not None:
        checks.append(_bound("bias", "min_group_accuracy", metrics.get("min_group_accuracy"),
                             gate.min_group_accuracy, ">=", {"attribute": gate.attribute}))
    if not checks:
        checks.append(Check("bias", "measured", None, None, "", True, {}))
    first = checks[0]
    checks[0] = Check(first.gate, first.name, first.value, first.limit, first.op, first.passed,
                      {**first.detail, "groups": per_group})
    return checks


def latency_checks(spec: GatesSpec, stats: Mapping[str, LatencyStats],
                   provider: str) -> list[Check]:
    """`stats` maps "1" and the batch size to what was measured at that batch size."""
    gate = spec.latency
    checks = []
    for batch, prefix in (("1", ""), (str(gate.batch_size), "batch_")):
        measured = stats.get(batch)
        for pct in ("p50_ms", "p95_ms", "p99_ms"):
            limit = getattr(gate, prefix + pct)
            detail = {"batch_size": int(batch), "provider": provider,
                      "iterations": measured.iterations if measured is not None else None}
            value = getattr(measured, pct) if measured is not None else None
            checks.append(_bound("latency", f"{pct}@batch{batch}", value, limit, "<=", detail))
    return checks


def integrity_checks(load_error: str | None, schema_changes: list[str] | None,
                     allow_change: bool, nonfinite: int | None, rows: int) -> list[Check]:
    checks = [Check("integrity", "loads", None, None, "", load_error is None,
                    {"error": load_error} if load_error else {})]
    if load_error is not None:
        return checks
    if schema_changes is None:
        checks.append(Check("integrity", "schema", None, None, "", True,
                            {"note": "no champion schema to compare with"}))
    else:
        ok = not schema_changes or allow_change
        detail: dict[str, Any] = {"changes": schema_changes}
        if schema_changes and allow_change:
            detail["note"] = "change declared (allow_schema_change)"
        checks.append(Check("integrity", "schema", float(len(schema_changes)), 0.0, "<=", ok,
                            detail))
    checks.append(_bound("integrity", "nonfinite_outputs",
                         None if nonfinite is None else float(nonfinite), 0.0, "<=",
                         {"rows": rows}))
    return checks


def _bound(gate: str, name: str, value: float | None, limit: float | None, op: str,
           detail: dict[str, Any] | None = None) -> Check:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Check(gate, name, None, limit, op, False, {**(detail or {}), "error": "not measured"})
    if limit is None:
        return Check(gate, name, value, None, "", True, detail or {})
    ok = value >= limit if op == ">=" else value <= limit
    return Check(gate, name, value, limit, op, ok, detail or {})


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def schema_changes(old: FeatureSchema, new: FeatureSchema) -> list[str]:
    """What differs between two feature schemas, input by input and output by output."""
    changes = []
    for side, was, now in (("input", old.inputs, new.inputs), ("output", old.outputs, new.outputs)):
        before = {t.name: t for t in was}
        after = {t.name: t for t in now}
        changes += [f"{side} '{n}' removed" for n in before if n not in after]
        changes += [f"{side} '{n}' added" for n in after if n not in before]
        for name in before.keys() & after.keys():
            a, b = before[name], after[name]
            if a.type != b.type:
                changes.append(f"{side} '{name}' type {a.type} -> {b.type}")
            if a.shape != b.shape:
                changes.append(f"{side} '{name}' shape {a.shape} -> {b.shape}")
    return sorted(changes)


def summary(checks: list[Check]) -> dict[str, Any]:
    failed = [f"{c.gate}.{c.name}" for c in checks if not c.passed]
    return {"passed": not failed, "failed": failed,
            "gates": {g: all(c.passed for c in checks if c.gate == g)
                      for g in GATES if any(c.gate == g for c in checks)}}
