"""What happened to a deployment, as the store keeps it: one row per typed happening, the
same row the untyped `deployment_event` made, so history and --json read as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.deployments import DeploymentEvent
from mlopslab.core.events import DEPLOYMENT_HAPPENINGS, event_from_json
from mlopslab.deploy.events import describe
from mlopslab.store.db import Store
from mlopslab.store.deployment_writes import deployment_events

OLD = json.loads((Path(__file__).parents[1] / "core" / "wire" / "deployment_events.json").read_text())
COLUMNS = ("deployment", "kind", "ts", "version", "from_version", "actor", "reason", "switch_s")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "lab.duckdb")
    yield s
    s.close()


def _as_the_untyped_writer_kept_it(e: dict[str, Any]) -> DeploymentEvent:
    """The row store/deployment_writes.py made of a `deployment_event` before it was typed."""
    return DeploymentEvent(
        deployment=e["deployment"], ts=datetime.fromtimestamp(e["ts"], UTC).isoformat(), kind=e["kind"],
        version=e.get("version"), from_version=e.get("from_version"), actor=e.get("actor"),
        reason=e.get("reason"), seconds=e.get("switch_s"),
        info={k: v for k, v in e.items() if k not in COLUMNS})


def test_each_happening_is_stored_as_the_row_the_untyped_event_made(store: Store) -> None:
    events = [event_from_json(d) for d in OLD]
    assert {type(e) for e in events} == set(DEPLOYMENT_HAPPENINGS)
    store.write([(None, events)])
    stored = deployment_events(store, "churn")[::-1]  # oldest first, as written
    assert stored == [_as_the_untyped_writer_kept_it(d["event"]) for d in OLD]
    assert [r.info for r in stored if r.info] == [{"problem": None}, {"problem": "not ready after 90 s"},
                                                  {"pid": 4242}]


def test_a_happening_reads_as_the_sentence_of_its_row(store: Store) -> None:
    events = [event_from_json(d) for d in OLD]
    store.write([(None, events)])
    assert [describe(e) for e in events] == [describe(r) for r in deployment_events(store, "churn")[::-1]]
    assert describe(events[2]) == "rolled back to v1 from v2 (asked by ada: slow), switched in 4.0 ms"
    assert describe(events[6]) == ("restarted the replica of v2 (it had stopped), "
                                   "but not ready: not ready after 90 s")
