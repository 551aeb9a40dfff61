"""Running the gates of a candidate version against the champion, on one holdout table.

Both models are evaluated afresh with ONNX Runtime on the model's evaluation set
(or data given for this gate), and only once a check has shown that neither
trained on those rows, so the regression check compares like with like. The
result is a report dict ready to be stored (store/model_writes.py).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlopslab.core import gates as g
from mlopslab.core.errors import ModelError
from mlopslab.core.gate_reports import EvaluationUsed, GateReportInfo
from mlopslab.core.gates import BiasGate, Check, GatesSpec
from mlopslab.core.model_versions import FeatureSchema, ModelVersion
from mlopslab.core.scoring import Direction
from mlopslab.evaluation.evaluate import Evaluation, Holdout, evaluate, latency
from mlopslab.evaluation.onnx_model import OnnxModel, load, read_table
from mlopslab.evaluation.rows import seen_rows


def holdout_of(version: ModelVersion, table_path: Path) -> Holdout:
    return Holdout(read_table(table_path), version.target, tuple(version.exclude or ()),
                   version.sensitive)


def effective_spec(spec: GatesSpec, version: ModelVersion) -> GatesSpec:
    """A version with a sensitive attribute and no bias gate still gets its groups measured."""
    if spec.bias is None and version.sensitive:
        return spec.model_copy(update={"bias": BiasGate(attribute=version.sensitive)})
    return spec


def run_gates(candidate: ModelVersion, candidate_model: Path, champion: ModelVersion | None,
              champion_model: Path | None, spec: GatesSpec, holdout_path: Path,
              evaluation: EvaluationUsed, artifacts: Path) -> dict[str, Any]:
    """Every check of every gate; the report as the GatesChecked event carries it (JSON:
    id, passed, failed, checks, ...; the service adds who asked).

    `holdout_path` is the file of the `evaluation` data; `artifacts` the store holding
    each version's training-row keys, for the check that neither model trained on it."""
    spec = effective_spec(spec, candidate)
    holdout = holdout_of(candidate, holdout_path)
    if spec.bias is not None:
        holdout = Holdout(holdout.table, holdout.target, holdout.exclude, spec.bias.attribute)
    checks, refused = _unseen_checks(candidate, champion, holdout, artifacts)
    info = GateReportInfo(rows=holdout.table.num_rows, evaluation=evaluation)
    model: OnnxModel | None = None
    try:
        model = load(candidate_model, spec.latency.provider, spec.latency.threads)
        result: Evaluation | None = evaluate(model, holdout)
    except ModelError as e:
        result = None
        checks += g.integrity_checks(e.message, None, False, None, holdout.table.num_rows)
    provider = model.provider if model else None
    if result is not None and model is not None:
        changes = g.schema_changes(champion.schema or FeatureSchema(), model.schema) if champion else None
        checks += g.integrity_checks(None, changes, spec.integrity.allow_schema_change,
                                     result.nonfinite, result.rows)
        champion_scores, champion_error = _champion_scores(champion, champion_model, holdout, spec)
        label = champion.ref if champion else None
        checks += g.regression_checks(spec, result.scores, champion_scores, label,
                                      candidate.primary_metric or "accuracy",
                                      _direction(candidate.direction), refused)
        checks += g.bias_checks(spec, result.groups)
        stats = latency(model, holdout, spec.latency.batch_size, spec.latency.warmup,
                        spec.latency.iterations)
        checks += g.latency_checks(spec, stats, model.provider)
        info = replace(info, champion_error=champion_error or None, scores=result.scores,
                       champion_scores=champion_scores, latency=stats)
    summary = g.summary(checks)
    return {
        "id": f"gr-{time.strftime('%y%m%d-%H%M%S')}-{secrets.token_hex(3)}",
        "name": candidate.name, "version": candidate.version,
        "champion_version": champion.version if champion else None,
        "passed": summary["passed"], "failed": summary["failed"], "gates": summary["gates"],
        "holdout_data": evaluation.data, "provider": provider,
        "spec": spec.model_dump(mode="json"), "info": info.to_stored(),
        "checks": [c.to_dict() for c in checks],
    }


def _unseen_checks(candidate: ModelVersion, champion: ModelVersion | None, holdout: Holdout,
                   artifacts: Path) -> tuple[list[Check], str | None]:
    """Checks that neither model trained on the evaluation rows; why the champion may
    not be compared, if it did (or that cannot be told)."""
    seen: dict[str, tuple[str, int | None, str | None]] = {}
    for role, version in (("candidate", candidate), ("champion", champion)):
        if version is None:
            continue
        found = seen_rows(artifacts, version.info.train_rows, holdout.table)
        label = version.ref
        seen[role] = (label, None, found) if isinstance(found, str) else (label, found.seen, None)
    checks = g.evaluation_checks(holdout.table.num_rows, seen)
    champion_check = next((c for c in checks if c.name == "champion_unseen"), None)
    refused = None
    if champion_check is not None and not champion_check.passed:
        refused = str(champion_check.detail["error"])
    return checks, refused


def _champion_scores(champion: ModelVersion | None, path: Path | None, holdout: Holdout,
                     spec: GatesSpec) -> tuple[dict[str, float] | None, str | None]:
    if champion is None or path is None:
        return None, None
    own = Holdout(holdout.table, champion.target, tuple(champion.exclude or ()),
                  holdout.sensitive)
    try:
        return evaluate(load(path, spec.latency.provider, spec.latency.threads), own).scores, None
    except ModelError as e:
        # a champion that cannot be scored on this data must not block the candidate silently:
        # its stored scores (on its own holdout) stand in, and the report says so
        return dict(champion.scores or {}), e.message


def _direction(text: str | None) -> Direction:
    return "minimize" if text == "minimize" else "maximize"
