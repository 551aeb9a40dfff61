"""The lab's configuration file, `mlopslab.toml`: one pydantic model, loaded once.

Every field carries its documentation; `render_config` writes the file with each
field's description as a comment, so the file a user edits documents itself.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlopslab.core.durations import Duration
from mlopslab.core.errors import ConfigError

CONFIG_FILE = "mlopslab.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabSection(_Section):
    """[lab]: who this lab is."""

    name: str = Field("lab", description="Name shown in the CLI and TUI.")
    default_project: str = Field(
        "default", description="Project a run belongs to when --project is not given."
    )


class RaySection(_Section):
    """[ray]: where runs execute."""

    address: str = Field(
        "",
        description="Address (host:port) of an existing Ray cluster. Empty: the lab service "
        "starts a local cluster on 127.0.0.1 with token authentication.",
    )
    num_cpus: int = Field(0, ge=0, description="CPUs the local cluster offers (0: all cores).")
    num_gpus: float = Field(
        -1,
        description="GPUs the local cluster advertises (-1: the GPUs NVML finds; a number "
        "> 0 on a machine without GPUs advertises logical GPUs for testing).",
    )
    port: int = Field(0, ge=0, le=65535, description="GCS port of the local cluster (0: any free).")


class ServiceSection(_Section):
    """[service]: the lab service that owns the store."""

    max_batch_rows: int = Field(
        100_000, ge=1, description="Most rows written in one transaction."
    )
    supervise_interval_s: float = Field(
        1.0, gt=0, description="How often the service checks that running runs' processes live."
    )


class GpuSection(_Section):
    """[gpu]: where GPU facts come from, and the GPU-memory watchdog."""

    source: str = Field(
        "nvml",
        description="nvml (the machine's NVIDIA GPUs; says so plainly when there is no "
        "driver), replay:PATH (play recorded samples, docs/gpus.md) or none.",
    )
    watchdog_interval_s: float = Field(
        1.0, gt=0, description="How often running runs' GPU and host memory are checked "
        "against their gpu_memory_gb / memory_gb limits.",
    )


class MonitorSection(_Section):
    """[monitor]: GPU history and the alert rules, kept by the lab service
    (docs/monitoring.md)."""

    interval_s: float = Field(1.0, gt=0, description="How often every GPU is read.")
    process_interval_s: float = Field(
        5.0, gt=0, description="How often the GPUs' process lists are read (the costly "
        "NVML call); between two, the last list is used to attribute use to owners.")
    raw_hours: float = Field(
        1.0, gt=0, description="Hours raw readings are kept before they become 1-minute "
        "rollups.")
    minute_days: float = Field(
        7.0, gt=0, description="Days 1-minute rollups are kept before they become 1-hour ones.")
    retention_days: float = Field(
        0.0, ge=0, description="Days 1-hour history (and the GPU use costs are made from) "
        "is kept; 0 keeps it for ever.")
    alerts_interval_s: float = Field(5.0, gt=0, description="How often the alert rules run.")
    idle_gpu_pct: float = Field(
        5.0, ge=0, le=100, description="A run whose GPUs are busy less than this share of "
        "the time it holds them ...")
    idle_gpu_after: Duration = Field(
        "10m", description="... for this long raises an idle-GPU alert (90s, 10m, 1h).")
    gpu_memory_pct: float = Field(
        95.0, gt=0, le=100, description="A GPU with more of its memory in use raises an alert.")
    serving_interval_s: float = Field(
        10.0, gt=0, description="How often every deployment's model servers are scraped for "
        "requests, errors, latency and load (their SLOs are checked as often).")
    prometheus_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus exporter of the lab service "
        "(0: off). Scrapes need the bearer token in the lab's .mlopslab/metrics.token.")
    prometheus_host: str = Field(
        "127.0.0.1", description="Address the exporter binds (another one only if you must "
        "reach it from other machines).")


DEFAULT_GPU_RATES = {
    "H200": 3.5, "H100": 3.0, "A100": 1.8, "L40S": 1.2, "A10": 0.9, "L4": 0.7, "T4": 0.35,
    "RTX 4090": 0.4,
}


class CostSection(_Section):
    """[cost]: prices, to turn what runs and deployments held and used into money.
    The defaults are rough cloud on-demand prices (2026); set your own."""

    currency: str = Field("USD", description="Shown with every amount.")
    gpu_hourly: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_GPU_RATES),
        description="Price of one GPU-hour by model: a key matches a GPU whose NVML name "
        "holds it (\"H100\" matches \"NVIDIA H100 80GB HBM3\"; the longest key wins). A GPU "
        "with no matching key, or a logical one, is shown as unpriced, never as free.")
    cpu_hourly: float = Field(0.03, ge=0, description="Price of one CPU-hour.")
    memory_gb_hourly: float = Field(0.004, ge=0, description="Price of one GB-hour of memory.")
    energy_kwh: float = Field(0.15, ge=0, description="Price of one kWh of GPU energy.")
    budget_alerts_pct: list[float] = Field(
        default_factory=lambda: [80.0, 100.0],
        description="Shares of a budget (percent) that raise an alert when crossed.")


class SloLimits(_Section):
    """The service level a deployment must keep; a missing limit is not checked."""

    p99_ms: float | None = Field(None, gt=0, description="Highest p99 latency (ms).")
    p95_ms: float | None = Field(None, gt=0, description="Highest p95 latency (ms).")
    max_error_rate: float | None = Field(
        None, ge=0, le=1, description="Highest share of requests answered with a 5xx.")
    window: Duration = Field("5m", description="Over how long it is measured.")
    min_requests: int = Field(20, ge=1, description="Judged only over at least this many requests.")


class SloSection(_Section):
    """[slo]: service levels per deployment ([slo.deployment.NAME]; the name "*" is for
    every deployment without its own). Breaking one raises an `slo` alert."""

    deployment: dict[str, SloLimits] = Field(default_factory=dict, description="By deployment.")


class RetrainPolicy(_Section):
    """When labelled feedback shows a deployment's model is no longer good enough,
    retrain it (docs/monitoring.md#decisions)."""

    metric: str | None = Field(
        None, description="The metric scored on feedback (default: the version's primary metric).")
    min_value: float | None = Field(
        None, description="Retrain when a metric to maximize is below this.")
    max_value: float | None = Field(
        None, description="Retrain when a metric to minimize is above this.")
    data: dict[str, str] = Field(
        default_factory=dict, description="The newest data to retrain on: a recipe data input's "
        "name to a file (inputs not named keep the version's run's data).")
    cooldown: Duration = Field(
        "1h", description="No new retraining of this deployment sooner than this after the last.")


class RetrainSection(_Section):
    """[retrain]: retraining policies per deployment ([retrain.deployment.NAME]). With
    none, feedback is scored and kept, and nothing is retrained."""

    deployment: dict[str, RetrainPolicy] = Field(default_factory=dict, description="By deployment.")


class AlertsSection(_Section):
    """[alerts]: where new and resolved alerts are sent, besides the lab (off when
    empty). Delivery is retried and never holds up the lab service."""

    command: list[str] = Field(
        default_factory=list, description="A program and its arguments (no shell) run with "
        "the alert as JSON on stdin, e.g. [\"notify-send\", \"mlopslab\"].")
    webhook_url: str = Field(
        "", pattern=r"^(https?://\S+)?$",
        description="An http(s) URL the alert is POSTed to as JSON.")
    webhook_token_env: str = Field(
        "", description="Name of an environment variable of the lab service holding a "
        "bearer token for the webhook (the token itself is never stored or logged).")
    retry_s: float = Field(30.0, gt=0, description="Wait before retrying a failed delivery.")


class MlflowSection(_Section):
    """[mlflow]: mirror the lab into an MLflow (docs/mlflow.md, "The mirror"). Off unless
    mirror_uri is set. The lab service logs every run, its params, metrics, tags and
    artifacts, and the registry's versions and champion moves there, in the background."""

    mirror_uri: str = Field(
        "", description="An MLflow tracking URI (sqlite:///PATH or http://HOST:PORT) to mirror "
        "into; empty: no mirror. A server's token comes from MLFLOW_TRACKING_TOKEN in the lab "
        "service's environment, never from this file.")
    mirror_interval_s: float = Field(10.0, gt=0, description="How often what is new is sent to the mirror.")


class DeploySection(_Section):
    """[deploy]: how deployments serve their stable endpoint (docs/deployments.md)."""

    proxy: Literal["auto", "haproxy", "python"] = Field(
        "auto", description="What carries the endpoint's traffic: haproxy (driven through its "
        "runtime API; more throughput than the Python gateway where the two share a core), python (the built-in "
        "gateway, nothing to install) or auto (haproxy when the haproxy binary is on PATH or in /usr/sbin, "
        "else python). Read each time a deployment's gateway starts.")


class DriftSection(_Section):
    """[drift]: the inputs of each deployment against its model's training data
    (docs/monitoring.md, "Drift"). Each model server samples its inputs; the lab
    service collects them and checks them in windows."""

    interval_s: float = Field(
        5.0, gt=0, description="How often the samples of every live replica are collected "
        "and new whole windows checked.")
    window_rows: int = Field(
        1000, ge=50, description="Rows in one window: each window is compared with the "
        "training data on its own.")
    alpha: float = Field(
        0.01, gt=0, lt=1, description="Chance that a window of inputs that did not drift "
        "is called drifted (over all its features and tests, after the correction).")
    correction: str = Field(
        "bh", pattern="^(bh|bonferroni)$", description="How alpha is shared among a "
        "window's tests: bh (Benjamini-Hochberg) or bonferroni.")
    k: int = Field(3, ge=1, description="A deployment drifts when k ...")
    n: int = Field(5, ge=1, description="... of its last n windows drifted (the alert).")
    psi_bins: int = Field(
        10, ge=2, le=50, description="PSI bins per numeric feature (of about equal "
        "training-data mass).")
    fine_bins: int = Field(
        100, ge=10, le=1000, description="Equal-width bins per numeric feature between its "
        "0.5% and 99.5% training quantiles, for the KS test (its statistic is exact to "
        "one bin).")
    max_categories: int = Field(
        20, ge=1, description="A feature whose training values are whole numbers with at "
        "most this many distinct values is categorical (chi-square).")
    keep_rows: int = Field(
        100_000, ge=1000, description="Sampled rows kept per deployment version (the "
        "oldest checked ones go).")


class QuotaLimits(_Section):
    """Limits of one project or user; a missing field means no limit."""

    max_gpus: float | None = Field(None, ge=0, description="Most GPUs in use at once.")
    max_runs: int | None = Field(None, ge=0, description="Most runs starting or running at once.")
    gpu_hours_per_day: float | None = Field(
        None, ge=0, description="GPU-hours in any 24 h; past it, GPU runs wait.")
    max_time_limit: Duration | None = Field(
        None, description="Longest time limit a run may ask for (also the default limit).")


class QuotasSection(_Section):
    """[quotas]: per project ([quotas.project.NAME]) and per user ([quotas.user.NAME]).
    `mlopslab quota set` stores quotas in the lab that take precedence over these."""

    project: dict[str, QuotaLimits] = Field(default_factory=dict, description="By project.")
    user: dict[str, QuotaLimits] = Field(default_factory=dict, description="By user.")


class LabConfig(_Section):
    lab: LabSection = LabSection()
    ray: RaySection = RaySection()
    service: ServiceSection = ServiceSection()
    gpu: GpuSection = GpuSection()
    quotas: QuotasSection = QuotasSection()
    monitor: MonitorSection = MonitorSection()
    cost: CostSection = CostSection()
    slo: SloSection = SloSection()
    retrain: RetrainSection = RetrainSection()
    alerts: AlertsSection = AlertsSection()
    drift: DriftSection = DriftSection()
    mlflow: MlflowSection = MlflowSection()
    deploy: DeploySection = DeploySection()


def load_config(lab_root: Path) -> LabConfig:
    """Read and validate `lab_root/mlopslab.toml`."""
    file = lab_root / CONFIG_FILE
    try:
        raw = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{file}: missing", "run `mlopslab init` to make a lab") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file}: not valid TOML: {e}") from e
    try:
        return LabConfig.model_validate(raw)
    except ValidationError as e:
        where = "; ".join(
            f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in e.errors()
        )
        raise ConfigError(f"{file}: {where}", "see the comments in the file") from e


def render_config(config: LabConfig) -> str:
    """The config as TOML with every field's description as a comment above it."""
    lines = [
        "# mlopslab lab configuration. Every field is optional; the values below are",
        "# the defaults unless `mlopslab init` chose them. Docs: README.md#configuration",
    ]
    for section_name, section in config:
        lines += ["", *_comment(type(section).__doc__), f"[{section_name}]"]
        tables: list[str] = []
        for field_name, info in type(section).model_fields.items():
            value = getattr(section, field_name)
            if isinstance(value, dict) and not all(isinstance(v, BaseModel) for v in value.values()):
                lines.append(f"# {info.description}")
                lines.append(f"{field_name} = {_inline_table(value)}")
                continue
            if isinstance(value, dict):
                tables += _tables(f"{section_name}.{field_name}", value)
                continue
            lines.append(f"# {info.description}")
            lines.append(f"{field_name} = {_toml_value(value)}")
        lines += tables
    return "\n".join(lines) + "\n"


def _comment(text: str | None) -> list[str]:
    return [f"# {line.strip()}" for line in (text or "").strip().splitlines()]


def _tables(prefix: str, entries: dict[str, BaseModel]) -> list[str]:
    """Sub-tables such as [quotas.project.vision]; an example when there are none."""
    if not entries:
        if prefix.startswith("retrain."):
            return [f"# [{prefix}.web]", "# min_value = 0.9", '# data = { train = "data/latest.csv" }']
        if prefix.startswith("slo."):
            return [f"# [{prefix}.\"*\"]", "# p99_ms = 50.0", "# max_error_rate = 0.01",
                    '# window = "5m"']
        example = "vision" if prefix.endswith("project") else "alice"
        return [f"# [{prefix}.{example}]", "# max_gpus = 2", '# max_time_limit = "12h"']
    lines: list[str] = []
    for name, model in entries.items():
        lines += ["", f"[{prefix}.{json.dumps(name)}]"]
        for key, value in model.model_dump(exclude_none=True).items():
            shown = _inline_table(value) if isinstance(value, dict) else _toml_value(value)
            lines.append(f"{key} = {shown}")
    return lines


def _inline_table(value: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)
