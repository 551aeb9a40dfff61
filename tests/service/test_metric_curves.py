"""The metric_curves operation through a real lab service: short curves come whole,
long ones keep each bucket's lowest and highest point (so every run's global min and
max) in step order and invent nothing; unknown runs and bad requests are errors."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.errors import BadRequest, NotFound
from mlopslab.core.events import MetricsLogged, RunCreated
from mlopslab.lab import Lab, init_lab
from tests.conftest import configure

T0 = time.time() - 3600
LONG = 5_000


def _run(run_id: str) -> RunCreated:
    return RunCreated(run={"id": run_id, "project": "p", "recipe": "r", "recipe_path": "/x",
                           "status": "finished", "user_name": "u", "created_at": T0, "params": {}})


def _points(run_id: str, values: list[float | None], key: str = "loss") -> MetricsLogged:
    return MetricsLogged(run_id=run_id, points=[[key, i, T0 + i, v] for i, v in enumerate(values)])


def _long_values() -> list[float]:
    rng = random.Random(7)
    values = [rng.gauss(0, 1) for _ in range(LONG)]
    values[1234], values[4321] = 50.0, -50.0  # spikes a chart must not lose
    return values


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    root = tmp_path_factory.mktemp("curves") / "lab"
    lab: Lab = configure(init_lab(root, "curves", ray_address=""), ray={"num_gpus": 0})
    try:
        with LabClient(lab) as c:
            c.write([_run("short"), _run("long"), _run("other"), _run("empty")])
            c.write([_points("short", [3.0, None, 1.0, 2.0]), _points("long", _long_values()),
                     _points("other", [9.0, 8.0]), _points("empty", [1.0], key="acc")])
            yield c
    finally:
        daemon.stop(lab, stop_ray=False)


def test_a_short_run_comes_back_whole_without_its_nulls(client: LabClient) -> None:
    [curve] = client.runs.curves(["short"], "loss")
    assert (curve.run_id, curve.x, curve.y, curve.total) == ("short", [0.0, 2.0, 3.0], [3.0, 1.0, 2.0], 3)
    assert not curve.downsampled


def test_a_long_run_keeps_its_extremes_in_step_order_and_invents_nothing(client: LabClient) -> None:
    values = _long_values()
    [curve] = client.runs.curves(["long"], "loss", buckets=50)
    assert curve.total == LONG and curve.downsampled and len(curve.x) <= 100
    assert curve.x == sorted(set(curve.x))  # step order, each step once
    assert all(values[int(x)] == y for x, y in zip(curve.x, curve.y, strict=True))
    assert max(curve.y) == 50.0 and min(curve.y) == -50.0
    for b in range(50):  # each bucket of 100 steps keeps its own lowest and highest
        bucket = values[b * 100:(b + 1) * 100]
        kept = [y for x, y in zip(curve.x, curve.y, strict=True) if b * 100 <= x < (b + 1) * 100]
        assert min(bucket) in kept and max(bucket) in kept


def test_curves_come_in_the_order_asked_and_empty_without_the_key(client: LabClient) -> None:
    curves = client.runs.curves(["other", "empty", "short"], "loss")
    assert [c.run_id for c in curves] == ["other", "empty", "short"]
    assert (curves[0].y, curves[1].x, curves[1].total) == ([9.0, 8.0], [], 0)
    assert client.runs.curves(["empty"], "loss")[0].total == 0  # no run has the key


def test_time_as_x_is_epoch_seconds(client: LabClient) -> None:
    [curve] = client.runs.curves(["other"], "loss", x="time")
    assert curve.x == pytest.approx([T0, T0 + 1], abs=1e-3) and curve.y == [9.0, 8.0]


def test_an_unknown_run_is_named(client: LabClient) -> None:
    with pytest.raises(NotFound, match="no run 'nope'"):
        client.runs.curves(["short", "nope"], "loss")


@pytest.mark.parametrize(("fields", "problem"), [
    ({"run_ids": [f"r{i}" for i in range(501)]}, "run_ids: list should have at most 500 items"),
    ({"run_ids": []}, "run_ids: list should have at least 1 item"),
    ({"buckets": 0}, "buckets: input should be greater than 0"),
    ({"x": "wall"}, "x: input should be 'step' or 'time'"),
])
def test_a_bad_request_says_what_is_wrong(client: LabClient, fields: dict[str, object], problem: str) -> None:
    args: dict[str, object] = {"run_ids": ["short"], "key": "loss", **fields}
    with pytest.raises(BadRequest, match=problem):
        client.runs.curves(**args)  # type: ignore[arg-type]
