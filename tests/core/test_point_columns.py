"""Metric points as columns (the sinks' wire form): every point arrives as it was
logged, in the store's rows exactly as the older row form gives them, and a payload
whose columns do not fit together is refused with a clear error."""

from __future__ import annotations

import json
import math
from array import array
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlopslab.core.errors import EventError
from mlopslab.core.events import MetricsLogged, event_from_json, event_to_json
from mlopslab.core.point_columns import PointColumns
from mlopslab.store.writes import _metric_table

KEYS = st.sampled_from(["loss", "acc", "val/loss", "ü-metric", "a b"])
VALUES = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none())
POINTS = st.lists(st.tuples(KEYS, st.integers(-(2**62), 2**62), st.floats(0, 4e9), VALUES), max_size=60)


def columns(points: list[tuple[str, int, float, float | None]]) -> PointColumns:
    keys: list[str] = []
    index, steps, stamps, values = array("I"), array("q"), array("d"), array("d")
    for key, step, ts, value in points:
        if key not in keys:
            keys.append(key)
        index.append(keys.index(key))
        steps.append(step)
        stamps.append(ts)
        values.append(math.nan if value is None else value)
    return PointColumns(tuple(keys), index, steps, stamps, values)


@given(POINTS)
def test_columns_cross_the_wire_and_land_as_the_row_form_does(points: list[Any]) -> None:
    sent = MetricsLogged(run_id="r1", points=columns(points))
    got = event_from_json(json.loads(json.dumps(event_to_json(sent))))
    assert isinstance(got, MetricsLogged) and isinstance(got.points, PointColumns)
    assert list(got.points.rows()) == [list(p) for p in points]
    as_rows = MetricsLogged(run_id="r1", points=[list(p) for p in points])
    assert _metric_table(got).to_pylist() == _metric_table(as_rows).to_pylist()


def wire(**change: Any) -> dict[str, Any]:
    data = event_to_json(MetricsLogged(run_id="r1", points=columns([("loss", 1, 2.0, 0.5), ("acc", 1, 2.0, 0.9)])))
    data["points"].update(change)
    return data


@pytest.mark.parametrize(("change", "message"), [
    ({"n": 3}, "not all 3 long"),
    ({"keys": ["loss"]}, "key index past its keys"),
    ({"step": "not base64!"}, "'step' is not base64"),
    ({"value": "AAAAAAAAAAA="}, "not all 2 long"), ({"value": "AAAA"}, "not base64 of 8-byte numbers"),
    ({"ts": 7}, "'ts' must be base64 text"),
    ({"n": None}, "need an integer n"),
])
def test_columns_that_do_not_fit_together_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(EventError, match=message):
        event_from_json(wire(**change))
