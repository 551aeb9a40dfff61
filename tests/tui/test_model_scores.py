"""The model version screen compares scores on the rows the gate compared them on."""

from __future__ import annotations

from rich.console import Console

from mlopslab.core.gate_reports import EvaluationUsed, GateReportInfo
from mlopslab.core.model_versions import VersionInfo
from mlopslab.tui.screens.model_detail import scores_table
from tests.registry.factories import gate_report, model_version


def _text(table: object) -> str:
    console = Console(width=100, record=True)
    console.print(table)
    return console.export_text()


def test_scores_come_from_the_report_on_the_evaluation_set() -> None:
    champion = model_version(version=1, scores={"accuracy": 0.99})  # on its own (other) holdout
    report = gate_report(champion_version=1, info=GateReportInfo(
        scores={"accuracy": 0.97}, champion_scores={"accuracy": 0.93},
        evaluation=EvaluationUsed(data="sha256:cc", sha256="cc", set=2, source="file:eval.csv")))
    version = model_version(version=2, scores={"accuracy": 0.96}, latest_report=report, primary_metric="accuracy")
    out = _text(scores_table(version, champion, "@2", "champion @1"))
    assert "eval set 2 score" in out and "0.97" in out and "0.93" in out and "0.99" not in out


def test_without_a_report_against_this_champion_each_holdout_score_shows() -> None:
    champion = model_version(version=3, scores={"accuracy": 0.99})
    report = gate_report(champion_version=1, info=GateReportInfo(scores={"accuracy": 0.97},
                                                                 champion_scores={"accuracy": 0.9}))
    version = model_version(version=2, scores={"accuracy": 0.96}, latest_report=report)
    out = _text(scores_table(version, champion, "@2", "champion @3"))
    assert "holdout score" in out and "0.96" in out and "0.99" in out


def test_a_run_metric_that_differs_from_the_registry_score_shows_beside_it() -> None:
    from mlopslab.tui.screens.model_detail import reported_line

    version = model_version(scores={"accuracy": 0.958, "f1": 0.96},
                            info=VersionInfo(run_metrics={"accuracy": 0.951, "f1": 0.96}))
    line = reported_line(version).plain
    assert "the run itself reported accuracy 0.951" in line and "f1" not in line
    same = model_version(scores={"accuracy": 0.958}, info=VersionInfo(run_metrics={"accuracy": 0.958}))
    assert reported_line(same).plain == ""
