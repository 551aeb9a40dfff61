"""Operations of the monitor: GPU history and use, cost, budgets, alerts, serving health."""

from __future__ import annotations

from pydantic import Field

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.alerts import Alert
from mlopslab.core.budgets import BudgetUse
from mlopslab.core.cost import CostReport
from mlopslab.core.decisions import Decision, FeedbackResult
from mlopslab.core.gpu_usage import GpuPoint, OwnerGpuUse
from mlopslab.core.serving_health import ServingHealth


class HistoryOf(Request):
    since: float  # epoch seconds
    device: int | None = None


class UseOf(Request):
    ids: list[str]
    kind: str = "run"  # run or deployment


class CostOf(Request):
    by: str = Field("project", pattern="^(run|project|user|deployment|day)$")
    since: float | None = None  # epoch seconds; None: all history
    until: float | None = None


class SetBudget(Request):
    scope: str = Field(pattern="^(project|user)$")
    name: str
    daily: float | None = Field(None, ge=0)
    monthly: float | None = Field(None, ge=0)
    hard: bool = False
    actor: str | None = None


class ClearBudget(Request):
    scope: str = Field(pattern="^(project|user)$")
    name: str
    actor: str | None = None


class AlertsOf(Request):
    all: bool = False  # resolved ones too
    limit: int = Field(500, ge=1, le=100_000)


class HealthOf(Request):
    name: str  # a deployment
    since: float  # epoch seconds
    until: float | None = None


class FeedbackOf(Request):
    deployment: str
    data: str  # a file of labelled rows (the model's features and its target column)
    actor: str | None = None


class DecisionsOf(Request):
    deployment: str | None = None
    limit: int = Field(200, ge=1, le=10_000)


class AckAlert(Request):
    id: str  # an id, or a unique prefix or suffix of one
    actor: str | None = None


GPU_HISTORY = read("gpu_history", HistoryOf, list[GpuPoint],
                   "GPU readings since a time, oldest first (rollups where raw ones are gone).")
GPU_USE = read("gpu_use", UseOf, list[OwnerGpuUse],
               "GPU use the monitor attributed to runs or deployments: busy GPU-seconds, energy, "
               "peak memory.")
COST = read("cost", CostOf, CostReport,
            "Cost by allocation and by use, by run, project, user, deployment or day.")
BUDGETS = read("budgets", NoArgs, list[BudgetUse],
               "Every budget with what its project or user spent today and this month.")
BUDGET_SET = write("budget_set", SetBudget, BudgetUse, "Set a project's or user's budget (audited).",
                   idempotent=True)
BUDGET_CLEAR = write("budget_clear", ClearBudget, bool,
                     "Remove a budget (audited); False when there was none.",
                     idempotent=True)
ALERTS = read("alerts", AlertsOf, list[Alert], "Open and acknowledged alerts, newest first.")
ALERT_ACK = write("alert_ack", AckAlert, Alert,
                  "Acknowledge an alert (a sticky one, an occurrence, is resolved by it).",
                  idempotent=True)

SERVING_HEALTH = read("serving_health", HealthOf, ServingHealth,
                      "A deployment's requests, errors, latency quantiles and load over a window, "
                      "from its model servers' own counters.")

FEEDBACK = write("feedback", FeedbackOf, FeedbackResult,
                 "Score labelled rows with a deployment's active version; below its retraining "
                 "policy, decide to retrain (a run through the queue, then gates, then deploy).")
DECISIONS = read("decisions", DecisionsOf, list[Decision],
                 "Retraining decisions, newest first, each with its status and reason.")

OPERATIONS = (GPU_HISTORY, GPU_USE, COST, BUDGETS, BUDGET_SET, BUDGET_CLEAR, ALERTS, ALERT_ACK,
              SERVING_HEALTH, FEEDBACK, DECISIONS)
