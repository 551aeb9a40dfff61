"""Budgets: how much a project or user may spend per UTC day and month.

Spend is the cost by allocation (core/cost.py) of the runs and deployments
accounted to the project or user, in the lab's currency; GPU-hours with no rate
are not in it (they show as unpriced). Crossing a threshold (80% and 100% by
default) raises one alert per budget, period and threshold, kept open until the
period ends. A hard budget also keeps new runs of its project or user queued, with
the reason, once 100% is reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mlopslab.core.alerts import Condition
from mlopslab.core.cost import money

SCOPES = ("project", "user")
PERIODS = ("daily", "monthly")


@dataclass(frozen=True)
class Budget:
    scope: str  # project or user
    name: str
    daily: float | None
    monthly: float | None
    hard: bool
    updated_at: datetime
    actor: str | None

    def limit(self, period: str) -> float | None:
        return self.daily if period == "daily" else self.monthly


@dataclass(frozen=True)
class BudgetUse:
    """A budget with what its scope spent today and this month (`budget ls`)."""

    budget: Budget
    spent_today: float
    spent_month: float
    unpriced_gpu_hours_month: float
    currency: str

    def share(self, period: str) -> float | None:
        """Spend as a share of the limit (1.0 = all of it); None without a limit."""
        limit = self.budget.limit(period)
        if not limit:
            return None
        return (self.spent_today if period == "daily" else self.spent_month) / limit

    @property
    def exhausted(self) -> bool:
        return any((self.share(p) or 0.0) >= 1.0 for p in PERIODS)


def period_key(period: str, now: datetime) -> str:
    return now.strftime("%Y-%m-%d") if period == "daily" else now.strftime("%Y-%m")


def budget_conditions(uses: Sequence[BudgetUse], thresholds: Sequence[float],
                      now: datetime) -> list[Condition]:
    """One condition per budget, period and threshold it has crossed."""
    found: list[Condition] = []
    for use in uses:
        for period in PERIODS:
            share = use.share(period)
            if share is None:
                continue
            for pct in thresholds:
                if share * 100.0 >= pct:
                    found.append(_crossed(use, period, pct, share, now))
    return found


def _crossed(use: BudgetUse, period: str, pct: float, share: float,
             now: datetime) -> Condition:
    b = use.budget
    spent = use.spent_today if period == "daily" else use.spent_month
    limit = b.limit(period) or 0.0
    subject = f"{b.scope}:{b.name} {period} {period_key(period, now)} {pct:g}%"
    stop = " New runs wait (hard budget)." if b.hard and share >= 1.0 else ""
    return Condition(
        rule="budget", subject=subject, severity="critical" if pct >= 100 else "warning",
        message=(f"{b.scope} {b.name} spent {money(spent)} {use.currency} of its {period} "
                 f"budget of {money(limit)} ({100 * share:.0f}%).{stop}"),
        detail={"scope": b.scope, "name": b.name, "period": period, "threshold_pct": pct,
                "spent": round(spent, 6), "limit": limit, "hard": b.hard})


def blocking(uses: Mapping[tuple[str, str], BudgetUse], project: str,
             user: str | None) -> str | None:
    """Why a new run of `project`/`user` must wait for a hard budget, or None."""
    for key in (("project", project), ("user", user or "")):
        use = uses.get(key)
        if use is None or not use.budget.hard:
            continue
        for period in PERIODS:
            share = use.share(period)
            if share is not None and share >= 1.0:
                spent = use.spent_today if period == "daily" else use.spent_month
                return (f"{key[0]} {key[1]} has spent its {period} budget "
                        f"({money(spent)} of {money(use.budget.limit(period) or 0)} {use.currency}; "
                        "raise it with `mlopslab budget set`)")
    return None
