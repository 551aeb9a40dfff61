"""Serving health in the lab service: every `[monitor] serving_interval_s` it scrapes
each live replica's `/metrics`, keeps the difference from the previous scrape
(core/serving_health.py), and checks each deployment against its SLO (`[slo]` in
mlopslab.toml) and its health (endpoint or active version down).

    rule                   subject                          holds while
    slo                    deployment:NAME error_rate|p99|  over the SLO's window the
                           p95                              deployment breaks it
    deployment_unhealthy   deployment:NAME                  two checks in a row found
                                                            its endpoint or active version down
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.parser import text_string_to_metric_families

from mlopslab.api import monitor as api
from mlopslab.config import LabConfig, SloLimits
from mlopslab.core.alerts import Condition
from mlopslab.core.deployments import Deployment
from mlopslab.core.durations import parse_duration
from mlopslab.core.errors import NotFound
from mlopslab.core.monitor_events import ServingScraped
from mlopslab.core.serving_health import ServerCounters, ServingHealth, difference, summarize
from mlopslab.service.dispatch import Handlers
from mlopslab.service.loops import every
from mlopslab.store import serving_queries as q

if TYPE_CHECKING:
    from mlopslab.service.writer import GroupWriter
    from mlopslab.store.db import Store

SCRAPE_TIMEOUT_S = 2.0
UNHEALTHY = ("endpoint down", "active down")


def scrape(url: str) -> ServerCounters | None:
    """One model server's counters, or None when it does not answer."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=SCRAPE_TIMEOUT_S) as r:  # noqa: S310
            text = r.read().decode()
    except (OSError, ValueError):
        return None
    return counters(text, time.time())


def counters(text: str, ts: float) -> ServerCounters:
    """The counters of a model server's Prometheus text (serving/metrics.py names)."""
    values: dict[str, float] = {}
    requests = errors = 0.0
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "mlopslab_requests_total":
                requests += s.value
                errors += s.value if str(s.labels.get("code", "")).startswith("5") else 0.0
            elif s.name == "mlopslab_request_seconds_bucket":
                buckets.append((float(s.labels["le"]), s.value))
            else:
                values[s.name] = values.get(s.name, 0.0) + s.value
    return ServerCounters(
        ts=ts, requests=requests, errors=errors, rejected=values.get("mlopslab_rejected_total", 0.0),
        buckets=tuple(sorted(buckets)), latency_sum_s=values.get("mlopslab_request_seconds_sum", 0.0),
        queue_depth=values.get("mlopslab_queue_depth", 0.0),
        batches=values.get("mlopslab_batch_rows_count", 0.0),
        batch_rows=values.get("mlopslab_batch_rows_sum", 0.0))


class ServingWatch:
    def __init__(self, store: Store, config: LabConfig,
                 deployments: Callable[[], list[Deployment]]) -> None:
        self.store, self.config, self.deployments = store, config, deployments
        self._last: dict[tuple[str, str, str], ServerCounters] = {}
        self._down: set[str] = set()  # deployments found down by the last check

    def handlers(self) -> Handlers:
        return {api.SERVING_HEALTH: self.op_serving_health}

    def op_serving_health(self, name: str, since: float,
                          until: float | None = None) -> ServingHealth:
        if name not in {d.name for d in self.deployments()}:
            raise NotFound(f"no deployment '{name}'", "list them with `mlopslab deployments`")
        return self.health(name, since, until)

    def loop(self, writer: GroupWriter, stopping: threading.Event) -> None:
        def scrape() -> None:
            events = self.tick()
            if events:
                writer.submit(None, events)

        every(self.config.monitor.serving_interval_s, stopping, "serving health", scrape)

    def tick(self) -> list[ServingScraped]:
        """Scrape every live replica once; what each answered since the last time."""
        events = []
        for d in self.deployments():
            for r in d.replicas:
                if not r.alive or r.role == "stopped":
                    continue
                key = (d.name, r.version, r.handle)
                now = scrape(r.url)
                if now is None:
                    continue
                before = self._last.get(key)
                self._last[key] = now
                if before is not None:  # a first scrape is only the baseline
                    events.append(_event(d.name, r.version, difference(
                        before, now, self.config.monitor.serving_interval_s)))
        return events

    def health(self, name: str, since: float, until: float | None = None) -> ServingHealth:
        until = time.time() if until is None else until
        samples, versions = q.samples(self.store, name, since, until)
        return summarize(name, samples, versions, datetime.fromtimestamp(since, UTC),
                         datetime.fromtimestamp(until, UTC))

    def conditions(self, now: float) -> list[Condition]:
        found: list[Condition] = []
        deployments = self.deployments()
        for d in deployments:
            slo = self.slo_of(d.name)
            if slo is not None:
                found += self._slo(d.name, slo, now)
        found += self._unhealthy(deployments)
        return found

    def slo_of(self, name: str) -> SloLimits | None:
        slos = self.config.slo.deployment
        return slos.get(name) or slos.get("*")

    def _slo(self, name: str, slo: SloLimits, now: float) -> list[Condition]:
        window = parse_duration(slo.window)
        h = self.health(name, now - window, now)
        if h.requests < slo.min_requests:
            return []
        broken: list[tuple[str, float, float, str]] = []
        if slo.max_error_rate is not None and (h.error_rate or 0.0) > slo.max_error_rate:
            broken.append(("error_rate", h.error_rate or 0.0, slo.max_error_rate, "{:.1%}"))
        for label, value, limit in (("p99", h.p99_ms, slo.p99_ms), ("p95", h.p95_ms, slo.p95_ms)):
            if limit is not None and value is not None and value > limit:
                broken.append((label, value, limit, "{:.1f} ms"))
        return [Condition(
            "slo", f"deployment:{name} {what}", "critical",
            f"deployment {name} {what} {fmt.format(value)} over {h.requests} requests in the "
            f"last {slo.window} breaks its SLO of {fmt.format(limit)}",
            {"deployment": name, "measure": what, "value": value, "limit": limit,
             "requests": h.requests}) for what, value, limit, fmt in broken]

    def _unhealthy(self, deployments: list[Deployment]) -> list[Condition]:
        down = {d.name: d.health() for d in deployments if d.health() in UNHEALTHY}
        found = [Condition("deployment_unhealthy", f"deployment:{name}", "critical",
                           f"deployment {name}: {state}", {"deployment": name, "state": state})
                 for name, state in down.items() if name in self._down]
        self._down = set(down)
        return found


def _event(name: str, version: str, s: Any) -> ServingScraped:
    return ServingScraped(
        ts=s.ts, deployment=name, version=version, seconds=s.seconds, requests=s.requests,
        errors=s.errors, rejected=s.rejected,
        buckets=[["+Inf" if le == float("inf") else le, n] for le, n in s.buckets],
        latency_sum_s=s.latency_sum_s, queue_depth=s.queue_depth, batches=s.batches,
        batch_rows=s.batch_rows)
