"""Registry replies cross the wire as their nouns: dumped by the service, encoded as a JSON
line, rebuilt by the client as the same values (unions resolved to the right member)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlopslab.api import registry as api
from mlopslab.api.operation import Operation
from mlopslab.api.wire import parse_reply_line, reply_line
from mlopslab.core.gate_reports import GateReportSummary, GateVerdict
from mlopslab.core.gates import Check
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
from mlopslab.core.model_versions import Registration
from mlopslab.core.registry import AliasHistory, AliasHistoryAt, AliasMove, GatedPromotion, Promotion
from tests.registry.factories import WHEN, gate_report, model_version


def over_the_wire(op: Operation, result: Any) -> Any:
    reply = parse_reply_line(op, reply_line(op, result))
    assert reply.ok
    return reply.result


REPORT = gate_report(checks=[Check("integrity", "loads", None, None, "", True, {}),
                             Check("latency", "p95_ms@batch1", 0.5, 5.0, "<=", False, {"batch_size": 1})],
                     info={"evaluation": {"data": "sha256:bb", "sha256": "bb", "set": 1, "source": "holdout"}})
VERDICT = GateVerdict.of(REPORT)
MOVE = AliasMove("bc", "champion", None, 1, datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=UTC), "ada")
NODES = [DataNode("data:sha256:aa", "data", "x.csv", source="file", size=3), Node("data:sha256:bb", "data"),
         RunNode("run:r1", "run", "tabular", status="finished", data_version="sha256:aa", code_version=None),
         ModelNode("model:bc@1", "model", "champion", sha256="ab", source="run"),
         GateNode("gate:gr-1", "gate", "passed", passed=True, model="bc@1", champion_version=None),
         DeploymentNode("deployment:web", "deployment", "", backend="process", status="serving", serving="bc@1")]


@pytest.mark.parametrize(("op", "result"), [
    (api.MODEL_VERSION, model_version(reports=[GateReportSummary("gr-1", None, True, [], WHEN, "ada")],
                                      latest_report=REPORT)),
    (api.GATE, VERDICT),
    (api.REGISTER_RUN, Registration.of(model_version(), created=True)),
    (api.ALIAS_HISTORY, AliasHistory("bc", None, [MOVE])),
    (api.ALIAS_HISTORY, AliasHistoryAt("bc", "champion", [MOVE], at=WHEN, version=1)),
    (api.PROMOTE, Promotion("bc", 1, 1, False, False, "bc@1 is already the champion")),
    (api.PROMOTE, GatedPromotion("bc", 2, 1, False, True, "gate report gr-1 passed", report=VERDICT)),
    (api.LINEAGE, Lineage(NODES[3], LineageWalk(NODES[:3], [Edge("run:r1", "model:bc@1", "produced")], False),
                          LineageWalk(NODES[4:], [], True))),
], ids=["version", "gate", "registration", "history", "history-at", "already-champion", "promoted", "lineage"])
def test_a_reply_comes_back_as_the_same_noun(op: Operation, result: Any) -> None:
    back = over_the_wire(op, result)
    assert back == result and type(back) is type(result)
    if isinstance(result, Lineage):  # each node rebuilt as its own kind (dataclass == compares classes too)
        nodes = back.upstream.nodes + back.downstream.nodes
        assert [type(n) for n in nodes] == [type(n) for n in NODES[:3] + NODES[4:]]


def test_a_verdict_says_each_gate_and_its_evaluation_data() -> None:
    assert VERDICT.gates == {"integrity": True, "latency": False}
    assert VERDICT.evaluation is not None and VERDICT.evaluation.set == 1
    assert GateVerdict.of(gate_report(info={"evaluation": {"set": 1}})).evaluation is None  # not a whole record
