"""What runs and deployments cost: by what they held, and by what they used.

A run *holds* its `gpus`, `cpus` and `memory_gb` from the start to the end of each
attempt (a `Holding`); it *uses* what the GPU monitor attributed to its processes
(core/gpu_usage.py: busy GPU-seconds, energy). Both are priced with the lab's
rates (`[cost]` in mlopslab.toml):

    cost by allocation  = GPU-hours held x GPU rate + CPU-hours x CPU rate
                          + GB-hours x memory rate + kWh x energy price
    cost by use         = the same with busy GPU-hours instead of held ones
    idle waste          = (held - busy) GPU-hours x GPU rate

CPU and memory are priced by allocation in both (they are not measured per run).
An owner that used GPUs it did not hold through the lab (a deployment's replicas)
is charged what it used in both.
GPU-hours on a GPU with no rate (a logical GPU, a model missing from the rates)
are counted in `unpriced_gpu_hours` and left out of the money, never priced as 0.
Days are UTC days; a holding that spans midnight is split at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

DAY_S = 86_400.0


@dataclass(frozen=True)
class Rates:
    """Prices per hour (GPU by model, CPU, GB of memory) and per kWh, in `currency`."""

    gpu_hourly: dict[str, float]
    cpu_hourly: float
    memory_gb_hourly: float
    energy_kwh: float
    currency: str = "USD"

    def gpu_rate(self, model: str | None) -> float | None:
        """The hourly rate of a GPU model as NVML names it ("NVIDIA H100 80GB HBM3"):
        an exact key, else the longest key found in the name, case ignored; None
        for a model with no rate."""
        if not model:
            return None
        if model in self.gpu_hourly:
            return self.gpu_hourly[model]
        name = model.lower()
        found = [k for k in self.gpu_hourly if k.lower() in name]
        return self.gpu_hourly[max(found, key=len)] if found else None


@dataclass(frozen=True)
class Holding:
    """Resources a run (or deployment) held from `start` to `end` (epoch seconds)."""

    kind: str  # run or deployment
    id: str
    project: str | None
    user: str | None
    start: float
    end: float
    gpus: float
    cpus: float
    memory_gb: float
    gpu_model: str | None  # the model of the GPUs it held; None: never read (unpriced)


@dataclass(frozen=True)
class Use:
    """What the monitor attributed to one owner on one UTC day on one GPU model."""

    kind: str
    id: str
    day: str  # YYYY-MM-DD
    gpu_model: str
    busy_gpu_s: float
    energy_j: float
    peak_memory: int


@dataclass
class CostLine:
    """Cost of one key (a run id, project, user, deployment name or day). Amounts are
    in `currency`. `unmeasured_gpu_hours` were held on GPUs the monitor never read
    (logical GPUs, no driver): `busy_pct` and `idle_gpu_hours` count only the measured
    ones (`busy_pct` None: no measured GPU-hours), so "not read" never shows as idle."""

    key: str
    gpu_hours_allocated: float = 0.0
    gpu_hours_busy: float = 0.0
    idle_gpu_hours: float = 0.0
    busy_pct: float | None = None
    cpu_hours: float = 0.0
    memory_gb_hours: float = 0.0
    energy_kwh: float = 0.0
    cost_allocated: float = 0.0
    cost_used: float = 0.0
    idle_waste: float = 0.0
    energy_cost: float = 0.0
    unpriced_gpu_hours: float = 0.0
    unmeasured_gpu_hours: float = 0.0
    peak_gpu_memory: int = 0
    currency: str = "USD"

    def finish(self) -> CostLine:
        measured = self.gpu_hours_allocated - self.unmeasured_gpu_hours
        self.idle_gpu_hours = max(0.0, measured - self.gpu_hours_busy)
        if measured > 1e-12:
            self.busy_pct = 100.0 * self.gpu_hours_busy / measured
        return self


@dataclass(frozen=True)
class CostReport:
    """Cost lines by one dimension over a window (`since` None: all history)."""

    by: str
    since: datetime | None
    until: datetime
    currency: str
    lines: list[CostLine]


@dataclass(frozen=True)
class Owner:
    """Who a holding or a use belongs to, for grouping: its project and user."""

    project: str | None
    user: str | None


def money(amount: float) -> str:
    """An amount as people read it: cents (`1,204.50`), or 4 significant digits under a
    cent (`0.0042`), so a small amount or limit never reads as 0.00."""
    return f"{amount:.4g}" if 0 < abs(amount) < 0.01 else f"{amount:,.2f}"


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def split_by_day(start: float, end: float) -> list[tuple[str, float]]:
    """(UTC day, seconds) of the stretch from `start` to `end`, split at midnight."""
    parts: list[tuple[str, float]] = []
    while end > start:
        day = datetime.fromtimestamp(start, UTC).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
        midnight = (day + timedelta(days=1)).timestamp()
        stop = min(end, midnight)
        parts.append((day.strftime("%Y-%m-%d"), stop - start))
        start = stop
    return parts


@dataclass
class _Cell:
    """One owner on one day: what it held and what it used."""

    held_gpu_h: float = 0.0
    unmeasured_gpu_h: float = 0.0  # held on GPUs the monitor never read
    held_rate: float | None = None
    cpu_h: float = 0.0
    memory_gbh: float = 0.0
    other_cost: float = 0.0  # CPU and memory, by allocation
    busy_gpu_h: float = 0.0
    busy_cost: float = 0.0
    unpriced_busy_h: float = 0.0
    energy_kwh: float = 0.0
    peak_memory: int = 0


@dataclass
class CostBook:
    """Adds holdings and uses up per owner and day, then into lines by one dimension
    (idle waste is worked out per owner and day, before grouping, so one owner's busy
    hours never hide another's idle ones)."""

    rates: Rates
    owners: dict[tuple[str, str], Owner] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], _Cell] = field(default_factory=dict)

    def _cell(self, kind: str, id: str, day: str) -> _Cell:
        return self.cells.setdefault((kind, id, day), _Cell())

    def hold(self, holding: Holding, since: float | None = None,
             until: float | None = None) -> None:
        self.owners[(holding.kind, holding.id)] = Owner(holding.project, holding.user)
        start = max(holding.start, since) if since is not None else holding.start
        end = min(holding.end, until) if until is not None else holding.end
        rate = self.rates.gpu_rate(holding.gpu_model) if holding.gpus else None
        for day, seconds in split_by_day(start, end):
            cell, hours = self._cell(holding.kind, holding.id, day), seconds / 3600.0
            cell.held_gpu_h += holding.gpus * hours
            if holding.gpu_model is None:
                cell.unmeasured_gpu_h += holding.gpus * hours
            cell.held_rate = rate if rate is not None else cell.held_rate
            cell.cpu_h += holding.cpus * hours
            cell.memory_gbh += holding.memory_gb * hours
            cell.other_cost += (holding.cpus * self.rates.cpu_hourly
                                + holding.memory_gb * self.rates.memory_gb_hourly) * hours

    def use(self, use: Use) -> None:
        cell, hours = self._cell(use.kind, use.id, use.day), use.busy_gpu_s / 3600.0
        cell.busy_gpu_h += hours
        cell.energy_kwh += use.energy_j / 3.6e6
        cell.peak_memory = max(cell.peak_memory, use.peak_memory)
        rate = self.rates.gpu_rate(use.gpu_model)
        if rate is None:
            cell.unpriced_busy_h += hours
        else:
            cell.busy_cost += hours * rate

    def key(self, kind: str, id: str, day: str, by: str) -> str | None:
        if by == "day":
            return day
        if by in ("run", "deployment"):
            return id if kind == by else None
        owner = self.owners.get((kind, id), Owner(None, None))
        return (owner.project if by == "project" else owner.user) or "-"

    def lines(self, by: str) -> list[CostLine]:
        """Cost lines by `by` (run, project, user, deployment or day), dearest first."""
        lines: dict[str, CostLine] = {}
        for (kind, id, day), cell in self.cells.items():
            key = self.key(kind, id, day, by)
            if key is not None:
                _add(lines.setdefault(key, CostLine(key, currency=self.rates.currency)),
                     cell, self.rates.energy_kwh)
        return sorted((line.finish() for line in lines.values()),
                      key=lambda c: (-c.cost_allocated, c.key))


def _add(line: CostLine, cell: _Cell, energy_price: float) -> None:
    energy = cell.energy_kwh * energy_price
    line.gpu_hours_allocated += cell.held_gpu_h
    line.unmeasured_gpu_hours += cell.unmeasured_gpu_h
    line.gpu_hours_busy += cell.busy_gpu_h
    line.cpu_hours += cell.cpu_h
    line.memory_gb_hours += cell.memory_gbh
    line.energy_kwh += cell.energy_kwh
    line.energy_cost += energy
    line.peak_gpu_memory = max(line.peak_gpu_memory, cell.peak_memory)
    line.cost_used += cell.busy_cost + cell.other_cost + energy
    line.cost_allocated += cell.other_cost + energy
    if cell.held_gpu_h == 0:  # used GPUs it did not hold through the lab (a deployment)
        line.cost_allocated += cell.busy_cost
        line.unpriced_gpu_hours += cell.unpriced_busy_h
        return
    if cell.held_rate is None:
        line.unpriced_gpu_hours += max(cell.held_gpu_h, cell.unpriced_busy_h)
        return
    line.cost_allocated += cell.held_gpu_h * cell.held_rate
    line.idle_waste += max(0.0, cell.held_gpu_h - cell.busy_gpu_h) * cell.held_rate


def tally(rates: Rates, by: str, holdings: Iterable[Holding], uses: Iterable[Use],
          since: float | None = None, until: float | None = None) -> list[CostLine]:
    """Cost lines by `by` of everything held and used between `since` and `until`."""
    book = CostBook(rates)
    for holding in holdings:
        book.hold(holding, since, until)
    for use in uses:
        book.use(use)
    return book.lines(by)
