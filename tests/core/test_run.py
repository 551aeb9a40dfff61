"""A run's resources and settings: typed from the stored JSON (older rows included),
the same JSON back, and the same value across the service's wire."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from mlopslab.core.quotas import Demand
from mlopslab.core.run import RunResources, RunSettings, RunSpec

STORED = {"cpus": 0.5, "gpus": 1.0, "gpu_memory_gb": 3.0, "memory_gb": None, "time_limit": "2h"}


def test_resources_round_trip_their_stored_json() -> None:
    resources = RunResources.from_json(STORED)
    assert resources == RunResources(cpus=0.5, gpus=1, gpu_memory_gb=3, time_limit="2h")
    assert resources.to_json() == STORED
    assert json.dumps(resources.to_json()) == json.dumps(STORED)  # same keys, same order


def test_missing_null_and_unknown_keys_take_the_defaults() -> None:
    assert RunResources.from_json(None) == RunResources.from_json({}) == RunResources()
    assert RunResources().to_json() == {"cpus": 1.0, "gpus": 0.0, "gpu_memory_gb": None,
                                        "memory_gb": None, "time_limit": None}
    old = RunResources.from_json({"cpus": 2, "gpus": None, "time_limit": 90, "shm_gb": 8})
    assert old == RunResources(cpus=2.0, gpus=0.0, time_limit="90")
    assert isinstance(old.cpus, float)
    assert RunSettings.from_json({"ray_address": "", "resumed_from": "x"}) == RunSettings()


def test_settings_round_trip_their_stored_json() -> None:
    stored = {"from_scratch": True, "data": {"train": "/d/t.csv"}, "ray_address": "10.0.0.1:6379"}
    assert RunSettings.from_json(stored).to_json() == stored


def test_a_limit_the_run_leaves_unset_comes_from_the_base() -> None:
    run = RunResources(cpus=2, time_limit="1h")
    recipe = RunResources(cpus=1, gpu_memory_gb=4, memory_gb=8, time_limit="30m")
    assert run.filled_from(recipe) == RunResources(cpus=2, gpu_memory_gb=4, memory_gb=8, time_limit="1h")


def test_a_spec_crosses_the_wire_as_the_same_typed_value() -> None:
    spec = RunSpec(recipe="r", recipe_path="/r", project="p", seed=1, params={"lr": 0.1},
                   resources=RunResources.from_json(STORED),
                   options=RunSettings(data={"train": "/d/t.csv"}))
    wire = TypeAdapter(RunSpec)
    sent = wire.dump_json(spec)
    assert json.loads(sent)["resources"] == STORED
    assert wire.validate_json(sent) == spec


def test_the_demand_of_a_run() -> None:
    assert Demand.of(RunResources.from_json(STORED)) == Demand(gpus=1.0, cpus=0.5, time_limit_s=7200)
    assert Demand.of(RunResources()) == Demand()
