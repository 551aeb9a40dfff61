"""What a gateway decides alone reaches supervision as typed happenings: the lines it
writes to events.jsonl, and those a gateway of an older mlopslab (still running) wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlopslab.core.deployments import WatchPolicy
from mlopslab.core.events import DeploymentAutoRolledBack, WatchPassed
from mlopslab.deploy.deployments import _gateway_event
from mlopslab.deploy.gateway import Gateway
from mlopslab.deploy.policy import Route

T0 = 1_748_772_900.0


def test_an_automatic_rollback_is_written_in_its_wire_form_and_read_back(tmp_path: Path) -> None:
    (tmp_path / "iris").mkdir()
    gateway = Gateway(tmp_path / "iris")
    gateway.switch(Route("2", "http://127.0.0.1:1"), Route("1", "http://127.0.0.1:2"), WatchPolicy())
    gateway.rollback("error rate 50.0% over 20 requests > 5.0%", automatic=True)
    gateway.rollback("asked", automatic=False)  # recorded by whoever asked, not here
    [line] = (tmp_path / "iris" / "events.jsonl").read_text().splitlines()
    event = _gateway_event("iris", line)
    assert isinstance(event, DeploymentAutoRolledBack)
    assert (event.deployment, event.version, event.from_version, event.actor) == ("iris", "1", "2", None)
    assert event.reason.startswith("error rate")


def test_lines_of_an_older_gateway_are_read_too() -> None:
    """Before happenings had types a line carried no deployment; before that, the version
    rolled back to was `to_version`."""
    assert _gateway_event("iris", json.dumps({"ts": T0, "kind": "watch_passed", "version": "2"})) == WatchPassed(
        deployment="iris", ts=T0, version="2")
    older = {"ts": T0, "kind": "auto_rollback", "from_version": "2", "to_version": "1", "reason": "slow"}
    assert _gateway_event("iris", json.dumps(older)) == DeploymentAutoRolledBack(
        deployment="iris", ts=T0, version="1", from_version="2", reason="slow")


@pytest.mark.parametrize("line", ['{"ts": 1.0, "kind": "auto_rollb', '{"ts": 1.0, "kind": "exploded"}',
                                  json.dumps({"kind": "metrics", "run_id": "r", "points": []})])
def test_a_line_that_is_no_happening_is_skipped_and_said(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _gateway_event("iris", line) is None
    assert "deployment iris: skipped a gateway event" in capsys.readouterr().err
