"""The public `--json` output of every command, pinned: the exact set of keys of each
object and the JSON type of each value (timestamps by their text format, too).

One real lab on the session's Ray cluster: a finished run of the bundled recipe
(registered automatically, gated, promoted), a run that stays queued behind a
GPU-hours quota, two ONNX files registered as another model and deployed with the
process backend (deployed twice, rolled back), a replayed GPU holding a sleeping run's
step worker, and a budget the finished run overspent (its alerts, one acknowledged).
Every command runs once, in the module fixture; each test checks one output against
its pin below.

A pin is literal data: {key: spec} is an object with exactly those keys; a spec is
a type name or names joined by "|" (TYPES below), a nested pin, [spec] (an array
whose every item matches spec), {"*": spec} (an object keyed by user data: metric,
param, version names; only its values are pinned) or a tuple of specs (any one).
A key that a command gains fails the test: add it to the pin, deliberately.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlopslab.core.cluster import ClusterInfo
from mlopslab.lab import Lab, init_lab
from mlopslab.monitor.gpu import script_replay
from tests.conftest import configure, mlopslab, mlopslab_json, module_lab
from tests.deploy.test_cli import _classifiers
from tests.exec.test_queue import sleeper, wait_for_worker

pytestmark = pytest.mark.ray
RECIPE = str(Path(__file__).resolve().parents[2] / "recipes" / "tabular-classifier")
MODEL = "breast-cancer"  # the recipe's [model].register_as

# "2026-12-02T01:44:46.253057+00:00": UTC, ISO 8601 with a "T", microseconds when not 0 (not
# "2026-12-02 01:44:46.253057", what print_json's default=str makes of a datetime that slips through)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00")

TYPES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, float),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "timestamp": lambda v: isinstance(v, str) and TIMESTAMP.fullmatch(v) is not None,
    "epoch": lambda v: isinstance(v, float) and v > 1e9,  # seconds since 1970, as a float
    "scalar": lambda v: isinstance(v, str | int | float | bool),
}

# --- the pins -------------------------------------------------------------------------

NUMBERS = {"*": "number"}  # metrics, scores: keyed by metric name

# runs: `runs show`, `run`, `runs ls`, `cancel` print the same documented run shape
RESOURCES = {"cpus": "float", "gpus": "float", "gpu_memory_gb": "float|null", "memory_gb": "float|null",
             "time_limit": "str|null"}
RUN_DEPS = ("null", {"python": "str", "packages": {"*": "str"}, "environment_sha256": "str", "distributions": "int"})
RUN_INPUT = {"name": "str", "hash": "str", "source": "str", "path": "str"}
RUN_ARTIFACT = {"path": "str", "sha256": "str", "size": "int", "kind": "str", "step": "str"}
RUN_STEP = {"name": "str", "idx": "int", "status": "str", "cached": "bool", "cache_key": "str|null",
            "started_at": "timestamp|null", "ended_at": "timestamp|null", "error": "str|null"}
RUN = {
    "id": "str", "status": "str", "reason": "str|null", "recipe": "str", "project": "str", "user": "str",
    "params": {"*": "scalar"}, "metrics": NUMBERS, "seed": "int|null",  # null: a tracked run without one
    "code_version": "str|null", "data_version": "str|null",
    "inputs": [RUN_INPUT], "artifacts": [RUN_ARTIFACT], "steps": [RUN_STEP],
    "resources": RESOURCES, "deps": RUN_DEPS, "host": "str|null",
    "gpu_ids": "array|null",  # Ray's GPU ids; [] for a run without GPUs, null until it starts
    "attempt": "int", "priority": "int",
    "queued_at": "timestamp", "started_at": "timestamp|null", "ended_at": "timestamp|null",
    "duration_s": "float|null", "error": "str|null", "recipe_path": "str", "pid": "int|null",
    "worker_pid": "int|null", "kind": "str", "args": "array", "tags": {"*": "str"},
}
ATTEMPT = {"attempt": "int", "status": "str", "reason": "str|null", "error": "str|null", "exit_code": "int|null",
           "host": "str|null", "gpu_ids": "array|null", "queued_at": "timestamp", "started_at": "timestamp|null",
           "ended_at": "timestamp|null", "last_log_seq": "int|null", "duration_s": "float|null"}
RUN_SHOW = {**RUN, "attempts": [ATTEMPT]}
RUN_LS = {**RUN, "inputs": "null", "artifacts": "null", "steps": "null", "tags": "null"}  # only `runs show` fills these
QUEUE = {
    "runs": [{"id": "str", "status": "str", "reason": "str|null", "project": "str", "user": "str", "recipe": "str",
              "priority": "int", "resources": RESOURCES, "queued_at": "timestamp", "started_at": "timestamp|null",
              "position": "int|null", "pid": "int|null", "worker_pid": "int|null"}],
    "capacity": {"gpus": "int", "cpus": "float"},
    "usage_gpu_hours_24h": {"*": "float"},  # keyed "user:NAME", "project:NAME"
}
QUOTA = {"scope": "str", "name": "str", "max_gpus": "float|null", "max_runs": "int|null",
         "gpu_hours_per_day": "float|null", "max_time_limit_s": "float|null", "source": "str",
         "gpus_in_use": "number",  # a sum of GPU requests: 0 (an int) when none runs
         "runs_in_use": "int", "gpu_hours_24h": "float"}

# the registry
TENSOR = {"name": "str", "type": "str", "shape": ["int|str|null"]}
ONNX_INFO = {"ir_version": "int", "opset": {"*": "int"}, "producer": "str", "onnxruntime": "str"}
METRIC_GATE = {"direction": "str|null", "min": "number|null", "max": "number|null", "max_regression": "number|null"}
BIAS_GATE = {"attribute": "str", "demographic_parity_difference": "number|null",
             "equalized_odds_difference": "number|null", "accuracy_difference": "number|null",
             "min_group_accuracy": "number|null"}
LATENCY_GATE = {"provider": "str", "batch_size": "int", "warmup": "int", "iterations": "int", "threads": "int",
                "p50_ms": "number|null", "p95_ms": "number|null", "p99_ms": "number|null",
                "batch_p50_ms": "number|null", "batch_p95_ms": "number|null", "batch_p99_ms": "number|null"}
GATES_SPEC = {"regression": {"*": METRIC_GATE}, "bias": ("null", BIAS_GATE), "latency": LATENCY_GATE,
              "integrity": {"allow_schema_change": "bool"}}
TRAIN_ROWS = ({"sha256": "str", "rows": "int", "columns": ["str"], "from": ["str"]}, {"unknown": "str"})
VERSION_INFO = (  # by source: a run's version, a file's
    {"recipe": "str", "run_metrics": NUMBERS, "provider": "str", "train_rows": TRAIN_ROWS, "rows": "int",
     "nonfinite": "int"},
    {"file": "str", "data": "str", "provider": "str", "train_data_given": "bool", "train_rows": TRAIN_ROWS,
     "rows": "int", "nonfinite": "int"},
)
VERSION_DEPS = (  # a run's version: the run's environment and the ONNX file's; a file's: ONNX Runtime's
    {"python": "str", "packages": {"*": "str"}, "environment_sha256": "str", "distributions": "int",
     "onnx": ONNX_INFO},
    {"python": "str", "packages": {"*": "str"}, "onnx": ONNX_INFO},
)
VERSION = {
    "id": "str", "name": "str", "version": "int", "sha256": "str", "size": "int", "source": "str",
    "run_id": "str|null", "train_data": "str|null", "holdout_data": "str", "holdout_sha256": "str",
    "target": "str", "exclude": ["str"], "sensitive": "str|null", "task": "str", "primary_metric": "str",
    "direction": "str", "scores": NUMBERS, "groups": ("null", NUMBERS),
    "schema": {"inputs": [TENSOR], "outputs": [TENSOR]}, "deps": VERSION_DEPS, "gates": ("null", GATES_SPEC),
    "info": VERSION_INFO, "created_at": "timestamp", "created_by": "str", "aliases": ["str"],
}
EVALUATION = {"data": "str", "sha256": "str", "set": "int|null", "source": "str"}
LATENCY_STATS = {"p50_ms": "float", "p95_ms": "float", "p99_ms": "float", "mean_ms": "float", "max_ms": "float",
                 "iterations": "int"}
CHECK = {"gate": "str", "name": "str", "value": "number|null", "limit": "number|null", "op": "str",
         "passed": "bool", "detail": "object"}  # detail: what each check measured, its own keys
STORED_REPORT = {  # a gate report as `models show` gives it (latest_report)
    "id": "str", "name": "str", "version": "int", "champion_version": "int|null", "passed": "bool",
    "failed": ["str"], "holdout_data": "str", "provider": "str|null", "spec": GATES_SPEC,
    "info": {"rows": "int", "scores": NUMBERS, "champion_scores": ("null", NUMBERS),
             "latency": {"*": LATENCY_STATS},  # keyed by batch size
             "evaluation": EVALUATION},
    "created_at": "timestamp", "actor": "str|null", "checks": [CHECK],
}
REPORT = {**STORED_REPORT, "gates": {"*": "bool"}, "evaluation": EVALUATION}  # `gate`, `promote`
MODEL_SHOW = {**VERSION, "reports": [{"id": "str", "champion_version": "int|null", "passed": "bool",
                                      "failed": ["str"], "created_at": "timestamp", "actor": "str|null"}],
              "latest_report": ("null", STORED_REPORT)}
VERSION_ROW = {  # `models ls NAME`
    "name": "str", "version": "int", "sha256": "str", "size": "int", "source": "str", "run_id": "str|null",
    "train_data": "str|null", "holdout_data": "str", "task": "str", "primary_metric": "str", "direction": "str",
    "scores": NUMBERS, "created_at": "timestamp", "created_by": "str", "aliases": ["str"],
    "gate": ("null", {"passed": "bool", "report_id": "str"}),
}
ARTIFACT = {"name": "str", "kind": "str", "sha256": "str", "size": "int", "source": "str", "step": "str|null",
            "path": "str", "stored": "bool"}
NODE = (  # by kind
    {"ref": "str", "kind": "str", "label": "str", "status": "str", "data_version": "str|null",
     "code_version": "str|null"},
    {"ref": "str", "kind": "str", "label": "str", "source": "str", "size": "int|null"},
    {"ref": "str", "kind": "str", "label": "str"},  # data known only by its hash
    {"ref": "str", "kind": "str", "label": "str", "sha256": "str", "source": "str"},
    {"ref": "str", "kind": "str", "label": "str", "passed": "bool", "model": "str", "champion_version": "int|null"},
    {"ref": "str", "kind": "str", "label": "str", "backend": "str", "status": "str", "serving": "str|null"},
)
GRAPH = {"nodes": [NODE], "edges": [{"source": "str", "target": "str", "relation": "str"}], "truncated": "bool"}
LINEAGE = {"node": NODE, "upstream": GRAPH, "downstream": GRAPH}

# deployments: their own times are epoch seconds (floats), their events' ISO text
DEPLOYMENT = {
    "name": "str", "backend": "str", "model": "str", "endpoint": "str", "port": "int", "status": "str",
    "active_version": "str|null", "previous_version": "str|null",
    "gateway": {"pid": "int|null", "alive": "bool", "watching": "bool",
                "stats": {"*": {"requests": "int", "errors": "int", "p99_ms": "float|null"}}},  # keyed by version
    "replicas": [{"backend": "str", "handle": "str", "version": "str", "url": "str", "port": "int",
                  "started_at": "epoch", "role": "str", "model_sha256": "str|null", "internal": "bool",
                  "alive": "bool"}],
    "options": {"max_batch_size": "int", "max_wait_ms": "float", "max_queue": "int", "device": "str", "gpus": "int",
                "memory_mb": "int", "cpus": "float", "sample_rate": "float"},
    "policy": {"window_s": "float", "max_error_rate": "float", "p99_ms": "float|null", "min_requests": "int",
               "health_interval_s": "float", "health_failures": "int"},
    "created_at": "epoch", "updated_at": "epoch",
}
DEPLOYMENT_SHOW = {
    **DEPLOYMENT,
    "events": [{"deployment": "str", "ts": "timestamp", "kind": "str", "version": "str|null",
                "from_version": "str|null", "actor": "str|null", "reason": "str|null", "seconds": "float|null",
                "info": "object"}],
    "versions": [{"version": "str", "model_version_id": "str", "sha256": "str", "first_deployed_at": "timestamp"}],
}

LAB_STATUS = {
    "running": "bool", "pid": "int", "lab": "str", "name": "str", "version": "str", "uptime_s": "float",
    "commits": "int", "active_runs": "int",
    "ray": {"address": "str|null", "local": "bool", "pid": "int|null", "token_path": "str|null"},
    "onnxruntime": {"packages": {"*": "str"}, "version": "str|null", "providers": ["str"], "problem": "str|null"},
    "mirror": "null",  # no [mlflow] mirror_uri in this lab; tests/mlflow/test_mirror.py has one
}

# the monitor: GPUs now, cost, budgets, alerts
GPU = {
    "source": "str", "ts": "timestamp", "driver": "str|null", "problem": "str|null",
    "via": "str",  # service (owners known) or source (read directly: no service ran)
    "devices": [{"index": "int", "uuid": "str", "name": "str", "utilization_pct": "number",
                 "memory_used": "int", "memory_total": "int", "power_w": "number|null",
                 "power_limit_w": "number|null", "temperature_c": "number|null"}],
    "processes": [{"pid": "int", "device": "int", "used_memory": "int",
                   "owner": ("null", {"kind": "str", "id": "str"})}],
}
COST_LINE = {"key": "str", "gpu_hours_allocated": "float", "gpu_hours_busy": "float", "idle_gpu_hours": "float",
             "busy_pct": "float|null", "cpu_hours": "float", "memory_gb_hours": "float", "energy_kwh": "float",
             "cost_allocated": "float", "cost_used": "float", "idle_waste": "float", "energy_cost": "float",
             "unpriced_gpu_hours": "float", "unmeasured_gpu_hours": "float", "peak_gpu_memory": "int",
             "currency": "str"}
COST = {"by": "str", "since": "timestamp|null", "until": "timestamp", "currency": "str", "lines": [COST_LINE],
        "total": COST_LINE}
BUDGET = {"scope": "str", "name": "str", "daily": "float|null", "monthly": "float|null", "hard": "bool",
          "spent_today": "float", "spent_month": "float", "daily_pct": "float|null", "monthly_pct": "float|null",
          "exhausted": "bool", "unpriced_gpu_hours_month": "float", "currency": "str", "updated_at": "timestamp",
          "actor": "str|null"}
ALERT = {"id": "str", "rule": "str", "subject": "str", "severity": "str", "status": "str", "message": "str",
         "detail": "object",  # what the rule measured, its own keys
         "sticky": "bool", "first_seen": "timestamp", "last_seen": "timestamp", "count": "int",
         "acked_at": "timestamp|null", "acked_by": "str|null", "resolved_at": "timestamp|null"}

PINS: dict[str, Any] = {
    "run": RUN_SHOW,
    "run --detach": RUN_SHOW,
    "runs show": RUN_SHOW,
    "runs show (queued)": RUN_SHOW,
    "runs ls": [RUN_LS],
    "runs metrics": [{"key": "str", "step": "int", "ts": "timestamp", "value": "float"}],
    "cancel": [{**RUN, "cancelled_now": "bool"}],
    "queue": QUEUE,
    "quota set": QUOTA,
    "quota ls": [QUOTA],
    "models register --file": {**VERSION, "created": "bool"},
    "models ls": [{"name": "str", "versions": "int", "latest": "int", "created_at": "timestamp",
                   "updated_at": "timestamp", "aliases": {"*": "int"}}],  # alias -> version
    "models ls NAME": [VERSION_ROW],
    "models ls NAME (file)": [VERSION_ROW],
    "models show NAME": MODEL_SHOW,
    "models show NAME@V": MODEL_SHOW,
    "models show NAME@V (file)": MODEL_SHOW,
    "models history": {"name": "str", "alias": "str|null", "history": [
        {"name": "str", "alias": "str", "from_version": "int|null", "to_version": "int", "ts": "timestamp",
         "actor": "str|null", "reason": "str|null", "forced": "bool", "report_id": "str|null"}]},
    "models eval-set": [{"name": "str", "version": "int", "data": "str", "sha256": "str", "rows": "int",
                         "source": "str", "reason": "str", "created_at": "timestamp", "actor": "str|null"}],
    "gate": REPORT,
    "promote": {"name": "str", "version": "int", "from_version": "int|null", "forced": "bool", "promoted": "bool",
                "why": "str", "report": ("null", REPORT)},
    "artifacts ls RUN": [ARTIFACT],
    "artifacts ls NAME@V": [ARTIFACT],
    "lineage model": LINEAGE,
    "lineage run": LINEAGE,
    "lineage deployment": LINEAGE,
    "deploy": DEPLOYMENT,
    "rollback": {**DEPLOYMENT, "rollback_s": "float"},
    "deployments show": DEPLOYMENT_SHOW,
    "deployments ls": [DEPLOYMENT],
    "undeploy": {"name": "str", "undeployed": "bool"},
    "lab status": LAB_STATUS,
    "gpu": GPU,
    "gpu (no service)": GPU,
    "cost": COST,
    "budget set": BUDGET,
    "budget ls": [BUDGET],
    "alerts": [ALERT],
    "alerts ack": ALERT,
}


# --- the lab and every output, once ------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, ray_cluster: ClusterInfo) -> Iterator[Lab]:
    yield from module_lab(tmp_path_factory, ray_cluster, "contract")


@pytest.fixture(scope="module")
def outputs(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    try:
        yield exercise(lab, tmp_path_factory.mktemp("contract-files"))
    finally:
        mlopslab(lab, "undeploy", "web", check=False)


def exercise(lab: Lab, folder: Path) -> dict[str, Any]:
    """Make the lab's facts and run every command with --json; {pin name: parsed output}."""
    out: dict[str, Any] = {}

    def j(name: str, *args: str, codes: tuple[int, ...] = (0,)) -> Any:
        done = mlopslab(lab, *args, "--json", check=False)
        assert done.returncode in codes, f"{' '.join(args)} exited {done.returncode}: {done.stderr}"
        out[name] = json.loads(done.stdout)
        return out[name]

    replay = folder / "gpus.jsonl"  # one scripted GPU; a run's step worker on it below
    script_replay(replay, {})
    configure(lab, gpu={"source": f"replay:{replay}"})
    run_id = j("run", "run", RECIPE, "--set", "n_estimators=10")["id"]
    deadline = time.monotonic() + 60
    while not any(m["name"] == MODEL for m in mlopslab_json(lab, "models", "ls")):
        assert time.monotonic() < deadline, "the finished run was not registered"
        time.sleep(0.3)
    j("gate", "gate", f"{MODEL}@1", codes=(0, 1))
    j("promote", "promote", f"{MODEL}@1", codes=(0, 1))
    # a budget the finished run's CPU-seconds already spent: alerts at 80% and 100%
    j("budget set", "budget", "set", "--project", "default", "--daily", "0.000001")
    sleeping = mlopslab_json(lab, "run", str(sleeper(folder / "sleeper")), "--detach", "--set", "seconds=60")["id"]
    script_replay(replay, {wait_for_worker(lab, sleeping): 1024**3})
    deadline = time.monotonic() + 30
    while not j("gpu", "gpu")["processes"] or not out["gpu"]["processes"][0]["owner"]:
        assert time.monotonic() < deadline, "the service did not name the GPU process's owner"
        time.sleep(0.3)
    mlopslab(lab, "cancel", sleeping)
    j("gpu (no service)", "gpu", "--lab", str(init_lab(folder / "idle", "idle").root))  # the later --lab wins
    j("quota set", "quota", "set", "--user", "waiter", "--max-runs", "3", "--max-gpus", "1",
      "--gpu-hours-per-day", "0", "--max-time-limit", "1h")
    # 0 GPU-hours a day: the run is admitted, then waits in the queue until cancelled
    queued_id = j("run --detach", "run", RECIPE, "--user", "waiter", "--gpus", "1", "--detach")["id"]

    data, files = _classifiers(folder)
    for f in files:
        j("models register --file", "models", "register", "--file", str(f), "--name", "clf", "--data", str(data),
          "--target", "target")
    j("deploy", "deploy", "clf@1", "--name", "web", "--watch", "1")
    mlopslab(lab, "deploy", "clf@2", "--name", "web", "--watch", "1")
    j("rollback", "rollback", "web", "--reason", "pinning")
    deadline = time.monotonic() + 30  # the service's writer commits deployment events in groups
    while len(mlopslab_json(lab, "deployments", "show", "web")["events"]) < 3:
        assert time.monotonic() < deadline, "the deployment's events were not written"
        time.sleep(0.3)
    deadline = time.monotonic() + 30  # the alert rules run every 5 s
    while not j("alerts", "alerts"):
        assert time.monotonic() < deadline, "the budget raised no alert"
        time.sleep(0.5)
    j("alerts ack", "alerts", "ack", out["alerts"][0]["id"])

    reads = {
        "runs show": ("runs", "show", run_id), "runs show (queued)": ("runs", "show", queued_id),
        "runs ls": ("runs", "ls"), "runs metrics": ("runs", "metrics", run_id), "queue": ("queue",),
        "models ls": ("models", "ls"), "models ls NAME": ("models", "ls", MODEL),
        "models ls NAME (file)": ("models", "ls", "clf"), "models show NAME": ("models", "show", MODEL),
        "models show NAME@V": ("models", "show", f"{MODEL}@1"),
        "models show NAME@V (file)": ("models", "show", "clf@2"),
        "models history": ("models", "history", MODEL), "models eval-set": ("models", "eval-set", MODEL),
        "artifacts ls RUN": ("artifacts", "ls", run_id), "artifacts ls NAME@V": ("artifacts", "ls", f"{MODEL}@1"),
        "lineage model": ("lineage", f"model:{MODEL}@1"), "lineage run": ("lineage", f"run:{run_id}"),
        "lineage deployment": ("lineage", "deployment:web"), "deployments show": ("deployments", "show", "web"),
        "deployments ls": ("deployments", "ls"), "quota ls": ("quota", "ls"), "lab status": ("lab", "status"),
        "cost": ("cost", "--by", "run"), "budget ls": ("budget", "ls"),
    }
    with ThreadPoolExecutor(4) as pool:  # reads only: each is a process of its own
        list(pool.map(lambda item: j(item[0], *item[1]), reads.items()))
    j("cancel", "cancel", queued_id)
    j("undeploy", "undeploy", "web")
    return out


# --- checking a value against a pin ------------------------------------------------------

def check(value: Any, spec: Any, path: str, problems: list[str], exercised: set[int]) -> None:
    """Add to `problems` each way `value` departs from `spec`. `exercised` gets the id of
    each array or map pin that met an item and of each alternative pin an object matched."""
    if isinstance(spec, tuple):
        tries = []
        for alt in spec:
            found: list[str] = []
            seen: set[int] = set()
            check(value, alt, path, found, seen)
            if not found:
                exercised |= seen | {id(alt)}
                return
            tries.append((isinstance(alt, dict) != isinstance(value, dict), len(found), found))
        nearest = min(tries, key=lambda t: t[:2])[2]  # the alternative of the value's kind that failed least
        problems.append(f"{path}: matches none of the pinned alternatives; the nearest says:")
        problems.extend(f"  {p}" for p in nearest)
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            problems.append(f"{path}: an object was pinned, got {_short(value)}")
        elif set(spec) == {"*"}:
            if value:
                exercised.add(id(spec))
            for k, v in value.items():
                check(v, spec["*"], f"{path}.{k}", problems, exercised)
        else:
            dropped, added = spec.keys() - value.keys(), value.keys() - spec.keys()
            if dropped:
                problems.append(f"{path}: pinned keys missing: {sorted(dropped)}")
            if added:
                problems.append(f"{path}: keys not in the pin: {sorted(added)} (if deliberate, add it to the pin)")
            for k in spec.keys() & value.keys():
                check(value[k], spec[k], f"{path}.{k}", problems, exercised)
    elif isinstance(spec, list):
        if not isinstance(value, list):
            problems.append(f"{path}: an array was pinned, got {_short(value)}")
            return
        if value:
            exercised.add(id(spec))
        for i, item in enumerate(value):
            check(item, spec[0], f"{path}[{i}]", problems, exercised)
    else:
        names = spec.split("|")
        assert all(n in TYPES for n in names), f"{path}: unknown type in pin {spec!r}"
        if not any(TYPES[n](value) for n in names):
            problems.append(f"{path}: {spec} was pinned, got {_short(value)}")


def nested(spec: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, pin) of each pin in `spec` that only an item makes `check` look at: arrays and
    maps of objects, and the object alternatives."""
    if isinstance(spec, tuple):
        for alt in spec:
            if isinstance(alt, dict):
                yield path, alt
            yield from nested(alt, path)
    elif isinstance(spec, dict):
        if set(spec) == {"*"}:
            if not isinstance(spec["*"], str):
                yield path, spec
            yield from nested(spec["*"], f"{path}.*")
        else:
            for k, v in spec.items():
                yield from nested(v, f"{path}.{k}")
    elif isinstance(spec, list):
        if not isinstance(spec[0], str):
            yield path, spec
        yield from nested(spec[0], f"{path}[]")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 80 else text[:77] + "..."


@pytest.mark.parametrize("name", list(PINS))
def test_the_json_output_keeps_its_keys_and_types(outputs: dict[str, Any], name: str) -> None:
    problems: list[str] = []
    check(outputs[name], PINS[name], name, problems, set())
    assert not problems, "\n".join(problems)


def test_every_nested_pin_was_checked_against_a_real_item(outputs: dict[str, Any]) -> None:
    """An array or map pin that only ever met empty ones pins nothing: the lab must fill each."""
    exercised: set[int] = set()
    for name, spec in PINS.items():
        check(outputs[name], spec, name, [], exercised)
    unchecked = {id(pin): path for name, spec in PINS.items() for path, pin in nested(spec, name)
                 if id(pin) not in exercised}
    assert not unchecked, sorted(unchecked.values())


def test_every_output_made_has_a_pin(outputs: dict[str, Any]) -> None:
    assert set(outputs) == set(PINS)
