"""Unit tests of the registry's domain: refs, scores, fairness, gate checks, alias history,
promotion rules and the lineage walk. Plain Python and numpy: milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from mlopslab.core import gates as g
from mlopslab.core.errors import PromotionRefused, RecipeError, RefError
from mlopslab.core.fairness import group_metrics
from mlopslab.core.gate_reports import GateReport, GateReportInfo
from mlopslab.core.lineage import Edge, Node, walk
from mlopslab.core.model_versions import FeatureSchema, Tensor
from mlopslab.core.refs import ModelRef, Ref, parse_model_ref, parse_ref
from mlopslab.core.registry import AliasMove, promotion_decision, user_alias, version_at
from mlopslab.core.scoring import Predictions, classification_scores, direction_of, regression_scores

# refs ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ref"), [
    ("churn@3", ModelRef("churn", 3)), ("model:churn@3", ModelRef("churn", 3)),
    ("model:churn:champion", ModelRef("churn", alias="champion")),
    ("churn", ModelRef("churn")), ("churn@latest", ModelRef("churn")),
    ("breast-cancer.v2@10", ModelRef("breast-cancer.v2", 10)),
])
def test_model_refs_parse(text: str, ref: ModelRef) -> None:
    assert parse_model_ref(text) == ref


@pytest.mark.parametrize("text", ["", "@3", "churn@", "churn@x", "churn:", "churn:9lives", "a b"])
def test_bad_model_refs_are_refused_with_exit_2(text: str) -> None:
    with pytest.raises(RefError) as e:
        parse_model_ref(text)
    assert e.value.exit_code == 2


def test_lineage_refs_parse_by_kind() -> None:
    assert parse_ref("run:2611-ab") == Ref("run", "2611-ab")
    assert parse_ref("data:sha256:ab12") == Ref("data", "sha256:ab12")
    assert parse_ref("gate:gr-1") == Ref("gate", "gr-1")
    assert parse_ref("churn:champion") == ModelRef("churn", alias="champion")


# scores and fairness ------------------------------------------------------


def test_classification_scores_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p1 = np.clip(y * 0.6 + rng.random(300) * 0.5, 0, 1)
    probs = np.column_stack([1 - p1, p1])
    labels = (p1 > 0.5).astype(int)
    scores = classification_scores(y, Predictions(labels, probs, np.array([0, 1])))
    assert scores["accuracy"] == pytest.approx(accuracy_score(y, labels))
    assert scores["f1"] == pytest.approx(f1_score(y, labels))
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, p1))
    assert scores["log_loss"] == pytest.approx(log_loss(y, probs), rel=1e-6)


def test_roc_auc_handles_ties_like_scikit_learn() -> None:
    y = np.array([0, 1, 0, 1, 1, 0, 1])
    s = np.array([0.2, 0.2, 0.5, 0.5, 0.9, 0.1, 0.5])
    scores = classification_scores(y, Predictions((s > 0.4).astype(int), np.column_stack([1 - s, s]),
                                                  np.array([0, 1])))
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, s))


def test_regression_scores() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    scores = regression_scores(y, y + np.array([0.5, -0.5, 0.5, -0.5]))
    assert scores["mae"] == pytest.approx(0.5) and scores["rmse"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 1.0 / 5.0)


def test_directions_come_from_metric_names() -> None:
    assert direction_of("accuracy") == "maximize" and direction_of("roc_auc") == "maximize"
    assert direction_of("log_loss") == "minimize" and direction_of("rmse") == "minimize"
    assert direction_of("val_loss") == "minimize" and direction_of("mystery", "minimize") == "minimize"


def test_group_metrics_measure_the_gaps_between_groups() -> None:
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    groups = np.array(["A"] * 4 + ["B"] * 4)
    labels = np.array([0, 0, 0, 0, 1, 1, 0, 0])  # group A's positives are all missed
    m = group_metrics(y, labels, groups)
    assert m["accuracy_group_A"] == 0.5 and m["accuracy_group_B"] == 1.0
    assert m["accuracy_difference"] == 0.5 and m["min_group_accuracy"] == 0.5
    assert m["tpr_group_A"] == 0.0 and m["tpr_group_B"] == 1.0
    assert m["equalized_odds_difference"] == 1.0
    assert m["demographic_parity_difference"] == 0.5


def test_a_fair_model_has_no_gaps() -> None:
    y = np.array([1, 0, 1, 0])
    m = group_metrics(y, y.copy(), np.array(["A", "A", "B", "B"]))
    assert m["equalized_odds_difference"] == 0 and m["demographic_parity_difference"] == 0


# gate checks --------------------------------------------------------------


SPEC = g.GatesSpec(regression={"accuracy": g.MetricGate(min=0.8, max_regression=0.02),
                               "log_loss": g.MetricGate(max_regression=0.05)},
                   bias=g.BiasGate(attribute="group", equalized_odds_difference=0.2,
                                   min_group_accuracy=0.7),
                   latency=g.LatencyGate(p95_ms=2.0, batch_size=8, batch_p99_ms=10.0))


def _by_name(checks: list[g.Check]) -> dict[str, g.Check]:
    return {c.name: c for c in checks}


def test_regression_compares_each_metric_in_its_direction() -> None:
    checks = _by_name(g.regression_checks(SPEC, {"accuracy": 0.90, "log_loss": 0.40},
                                          {"accuracy": 0.93, "log_loss": 0.30}, "m@1",
                                          "accuracy", "maximize"))
    assert checks["accuracy:min"].passed
    assert not checks["accuracy:vs_champion"].passed
    assert checks["accuracy:vs_champion"].limit == pytest.approx(0.91)
    assert not checks["log_loss:vs_champion"].passed  # higher loss is worse
    assert checks["log_loss:vs_champion"].limit == pytest.approx(0.35)


def test_without_a_champion_the_comparison_passes_but_thresholds_still_apply() -> None:
    checks = _by_name(g.regression_checks(SPEC, {"accuracy": 0.7, "log_loss": 0.4}, None, None,
                                          "accuracy", "maximize"))
    assert checks["accuracy:vs_champion"].passed and "no champion" in checks["accuracy:vs_champion"].detail["note"]
    assert not checks["accuracy:min"].passed


def test_an_empty_regression_table_checks_the_primary_metric() -> None:
    checks = g.regression_checks(g.GatesSpec(), {"rmse": 1.2}, {"rmse": 1.0}, "m@1", "rmse", "minimize")
    assert [(c.name, c.passed, c.op) for c in checks] == [("rmse:vs_champion", False, "<=")]


def test_a_missing_score_fails() -> None:
    checks = g.regression_checks(SPEC, {"log_loss": 0.1}, None, None, "accuracy", "maximize")
    assert not _by_name(checks)["accuracy"].passed


def test_bias_checks_use_their_limits() -> None:
    checks = _by_name(g.bias_checks(SPEC, {"equalized_odds_difference": 0.35, "min_group_accuracy": 0.8,
                                           "accuracy_group_A": 0.8}))
    assert not checks["equalized_odds_difference"].passed
    assert checks["min_group_accuracy"].passed
    assert checks["equalized_odds_difference"].detail["groups"] == {"accuracy_group_A": 0.8}
    missing = g.bias_checks(SPEC, None)
    assert len(missing) == 1 and not missing[0].passed and "group" in missing[0].detail["error"]


def test_latency_checks_cover_both_batch_sizes() -> None:
    stats = {"1": g.LatencyStats(p50_ms=1.0, p95_ms=2.5, p99_ms=3.0, mean_ms=1.2, max_ms=4.0, iterations=50),
             "8": g.LatencyStats(p50_ms=4.0, p95_ms=5.0, p99_ms=9.0, mean_ms=4.5, max_ms=9.5, iterations=50)}
    checks = _by_name(g.latency_checks(SPEC, stats, "CPUExecutionProvider"))
    assert len(checks) == 6
    assert not checks["p95_ms@batch1"].passed and checks["p99_ms@batch8"].passed
    assert checks["p50_ms@batch1"].passed and checks["p50_ms@batch1"].limit is None


def test_integrity_checks_schema_and_finiteness() -> None:
    label = Tensor("label", "tensor(int64)", [None])
    old = FeatureSchema([Tensor("x", "tensor(float)", [None, 30])], [label])
    new = FeatureSchema([Tensor("x", "tensor(float)", [None, 31])], [label])
    changes = g.schema_changes(old, new)
    assert changes == ["input 'x' shape [None, 30] -> [None, 31]"]
    refused = _by_name(g.integrity_checks(None, changes, False, 0, 10))
    assert not refused["schema"].passed and refused["nonfinite_outputs"].passed
    declared = _by_name(g.integrity_checks(None, changes, True, 3, 10))
    assert declared["schema"].passed and not declared["nonfinite_outputs"].passed
    broken = g.integrity_checks("bad protobuf", None, False, None, 10)
    assert [(c.name, c.passed) for c in broken] == [("loads", False)]


def test_summary_names_the_failed_checks() -> None:
    checks = [g.Check("regression", "accuracy:vs_champion", 0.9, 0.91, ">=", False),
              g.Check("latency", "p95_ms@batch1", 1.0, 2.0, "<=", True)]
    assert g.summary(checks) == {"passed": False, "failed": ["regression.accuracy:vs_champion"],
                                 "gates": {"regression": False, "latency": True}}


def test_gates_files(tmp_path: Path) -> None:
    lab = tmp_path / "gates.toml"
    lab.write_text("[gates.latency]\np95_ms = 3\n\n[models.churn.regression.auc]\nmin = 0.7\n")
    assert g.load_gates_file(lab, "churn").regression["auc"].min == 0.7
    assert g.load_gates_file(lab, "other").latency.p95_ms == 3
    bad = tmp_path / "bad.toml"
    bad.write_text("[gates.latency]\np95_msec = 3\n")
    with pytest.raises(RecipeError, match="p95_msec"):
        g.load_gates_file(bad)


# aliases and promotion ----------------------------------------------------


T = datetime(2026, 1, 1, tzinfo=UTC)


def test_version_at_answers_which_version_an_alias_had() -> None:
    history = [AliasMove("m", "champion", None, 1, T), AliasMove("m", "champion", 1, 2, T + timedelta(days=2)),
               AliasMove("m", "staging", None, 5, T + timedelta(days=1)),
               AliasMove("m", "champion", 2, None, T + timedelta(days=4))]
    assert version_at(history, "champion", T - timedelta(seconds=1)) is None
    assert version_at(history, "champion", T) == 1
    assert version_at(history, "champion", T + timedelta(days=3)) == 2
    assert version_at(history, "champion", T + timedelta(days=5)) is None
    assert version_at(history, "staging", T + timedelta(days=3)) == 5


def _report(report_id: str, passed: bool, failed: list[str]) -> GateReport:
    return GateReport(id=report_id, name="m", version=3, champion_version=2, passed=passed,
                      failed=failed, holdout_data=None, provider=None, spec=None, info=GateReportInfo(),
                      created_at=T, actor=None, checks=[])


def test_champion_is_no_user_alias() -> None:
    assert user_alias("staging") == "staging"
    with pytest.raises(PromotionRefused):
        user_alias("champion")


def test_promotion_needs_a_fresh_passing_report_or_a_reasoned_override() -> None:
    passing = _report("gr-1", True, [])
    failing = _report("gr-2", False, ["bias.x"])
    assert promotion_decision(passing, 3, 2, False, None)[0]
    allowed, why = promotion_decision(failing, 3, 2, False, None)
    assert not allowed and "bias.x" in why
    allowed, why = promotion_decision(passing, 3, 4, False, None)
    assert not allowed and "champion 2" in why  # stale: the champion moved since
    assert not promotion_decision(None, 3, 2, False, None)[0]
    assert promotion_decision(failing, 3, 2, True, "incident 42")[0]
    with pytest.raises(PromotionRefused):
        promotion_decision(failing, 3, 2, True, "  ")


# lineage ------------------------------------------------------------------


def test_walk_goes_both_ways_without_repeating() -> None:
    edges = [("data:d", "run:r1", "input of"), ("data:d", "run:r2", "input of"),
             ("run:r1", "model:m@1", "produced"), ("model:m@1", "gate:g1", "gated by"),
             ("data:h", "model:m@1", "holdout of")]

    def neighbours(node: Node, way: str) -> list[tuple[Edge, Node]]:
        if way == "up":
            return [(Edge(s, t, r), Node(s, s.split(":")[0])) for s, t, r in edges if t == node.ref]
        return [(Edge(s, t, r), Node(t, t.split(":")[0])) for s, t, r in edges if s == node.ref]

    up = walk(Node("gate:g1", "gate"), neighbours, "up")
    assert {n.ref for n in up.nodes} == {"model:m@1", "run:r1", "data:d", "data:h"}
    down = walk(Node("data:d", "data"), neighbours, "down")
    assert {n.ref for n in down.nodes} == {"run:r1", "run:r2", "model:m@1", "gate:g1"}
    assert len(down.edges) == 4 and not down.truncated
