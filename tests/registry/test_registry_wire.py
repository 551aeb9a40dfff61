"""Registry replies cross the wire as their nouns: dumped by the service, encoded as a JSON
line, rebuilt by the client as the same values (unions resolved to the right member)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlopslab.api import registry as api
from mlopslab.api.operation import Operation
from mlopslab.api.wire import parse_reply_line, plain, reply_line
from mlopslab.core.gate_reports import EvaluationUsed, GateReportInfo, GateReportSummary, GateVerdict
from mlopslab.core.gates import Check, GatesSpec, LatencyGate, LatencyStats
from mlopslab.core.lineage import (
    DataNode,
    DeploymentNode,
    Edge,
    GateNode,
    Lineage,
    LineageWalk,
    ModelNode,
    Node,
    RunNode,
)
from mlopslab.core.model_versions import (
    FeatureSchema,
    Registration,
    Tensor,
    TrainingRows,
    UnknownTrainingRows,
    VersionInfo,
)
from mlopslab.core.registry import AliasHistory, AliasHistoryAt, AliasMove, GatedPromotion, Promotion
from tests.registry.factories import WHEN, gate_report, model_version


def over_the_wire(op: Operation, result: Any) -> Any:
    reply = parse_reply_line(op, reply_line(op, result))
    assert reply.ok
    return reply.result


REPORT = gate_report(checks=[Check("integrity", "loads", None, None, "", True, {}),
                             Check("latency", "p95_ms@batch1", 0.5, 5.0, "<=", False, {"batch_size": 1})],
                     info=GateReportInfo(evaluation=EvaluationUsed("sha256:bb", "bb", 1, "holdout")))
VERDICT = GateVerdict.of(REPORT)
SCHEMA = FeatureSchema([Tensor("input", "tensor(float)", [None, 30])],
                       [Tensor("label", "tensor(int64)", [None]), Tensor("probabilities", "tensor(float)", [None, 2])])
RUN_INFO = VersionInfo(recipe="tabular", run_metrics={"accuracy": 0.95, "loss": None}, provider="CPUExecutionProvider",
                       train_rows=TrainingRows("cd" * 32, 427, ["x", "y"], ["train: data.csv"]), rows=142, nonfinite=0)
FILE_INFO = VersionInfo(file="/m.onnx", data="/holdout.csv", provider="CPUExecutionProvider", train_data_given=False,
                        train_rows=UnknownTrainingRows("registered from a file without --train-data"), rows=142,
                        nonfinite=0)
STATS = LatencyStats(p50_ms=0.01, p95_ms=0.02, p99_ms=0.03, mean_ms=0.01, max_ms=0.2, iterations=200)
MEASURED = GateReportInfo(rows=142, scores={"accuracy": 0.95, "roc_auc": None}, champion_scores=None,
                          latency={"1": STATS, "64": STATS}, evaluation=EvaluationUsed("sha256:bb", "bb", 1, "holdout"))
TYPED = model_version(schema=SCHEMA, info=RUN_INFO, gates=GatesSpec(latency=LatencyGate(p95_ms=5.0)),
                      latest_report=gate_report(info=MEASURED, spec=GatesSpec()))
MOVE = AliasMove("bc", "champion", None, 1, datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC), "ada")
NODES = [DataNode("data:sha256:aa", "data", "x.csv", source="file", size=3), Node("data:sha256:bb", "data"),
         RunNode("run:r1", "run", "tabular", status="finished", data_version="sha256:aa", code_version=None),
         ModelNode("model:bc@1", "model", "champion", sha256="ab", source="run"),
         GateNode("gate:gr-1", "gate", "passed", passed=True, model="bc@1", champion_version=None),
         DeploymentNode("deployment:web", "deployment", "", backend="process", status="serving", serving="bc@1")]


@pytest.mark.parametrize(("op", "result"), [
    (api.MODEL_VERSION, model_version(reports=[GateReportSummary("gr-1", None, True, [], WHEN, "ada")],
                                      latest_report=REPORT)),
    (api.MODEL_VERSION, TYPED),
    (api.MODEL_VERSION, model_version(source="file", run_id=None, info=FILE_INFO, schema=None)),
    (api.GATE, VERDICT),
    (api.GATE, GateVerdict.of(gate_report(info=MEASURED))),
    (api.REGISTER_RUN, Registration.of(model_version(), created=True)),
    (api.ALIAS_HISTORY, AliasHistory("bc", None, [MOVE])),
    (api.ALIAS_HISTORY, AliasHistoryAt("bc", "champion", [MOVE], at=WHEN, version=1)),
    (api.PROMOTE, Promotion("bc", 1, 1, False, False, "bc@1 is already the champion")),
    (api.PROMOTE, GatedPromotion("bc", 2, 1, False, True, "gate report gr-1 passed", report=VERDICT)),
    (api.LINEAGE, Lineage(NODES[3], LineageWalk(NODES[:3], [Edge("run:r1", "model:bc@1", "produced")], False),
                          LineageWalk(NODES[4:], [], True))),
], ids=["version", "typed-version", "file-version", "gate", "typed-gate", "registration", "history", "history-at",
        "already-champion", "promoted", "lineage"])
def test_a_reply_comes_back_as_the_same_noun(op: Operation, result: Any) -> None:
    back = over_the_wire(op, result)
    assert back == result and type(back) is type(result)
    if isinstance(result, Lineage):  # each node rebuilt as its own kind (dataclass == compares classes too)
        nodes = back.upstream.nodes + back.downstream.nodes
        assert [type(n) for n in nodes] == [type(n) for n in NODES[:3] + NODES[4:]]


def test_a_verdict_says_each_gate_and_its_evaluation_data() -> None:
    assert VERDICT.gates == {"integrity": True, "latency": False}
    assert VERDICT.evaluation is not None and VERDICT.evaluation.set == 1
    partial = GateReportInfo.from_stored({"evaluation": {"set": 1}})  # not a whole record
    assert GateVerdict.of(gate_report(info=partial)).evaluation is None


def test_typed_documents_write_the_keys_their_rows_hold() -> None:
    """The --json and the wire write a version's info and a report's info as the store
    keeps them: a run's version has no file keys, `from` keeps its name, and what was
    not measured is left out (not null), except champion_scores beside scores."""
    shown = plain(over_the_wire(api.MODEL_VERSION, TYPED))
    assert list(shown["info"]) == ["recipe", "run_metrics", "provider", "train_rows", "rows", "nonfinite"]
    assert list(shown["info"]["train_rows"]) == ["sha256", "rows", "columns", "from"]
    assert list(shown["schema"]["inputs"][0]) == ["name", "type", "shape"]
    assert shown["gates"] == GatesSpec(latency=LatencyGate(p95_ms=5.0)).model_dump(mode="json")
    assert list(shown["latest_report"]["info"]) == ["rows", "scores", "champion_scores", "latency", "evaluation"]
    assert list(plain(FILE_INFO)) == ["file", "data", "provider", "train_data_given", "train_rows", "rows",
                                      "nonfinite"]
    assert plain(FILE_INFO)["train_rows"] == {"unknown": "registered from a file without --train-data"}
    failed = GateReportInfo(rows=142, champion_error="the champion does not load",
                            scores={"accuracy": 0.9}, champion_scores={"accuracy": 0.8})
    assert list(plain(failed)) == ["rows", "champion_error", "scores", "champion_scores"]
    assert plain(GateReportInfo(rows=142)) == {"rows": 142}  # the candidate did not load
