"""The lab service's metrics in Prometheus text format, for teams with Grafana.

Off unless `[monitor] prometheus_port` is set; it binds `prometheus_host`
(127.0.0.1 by default) and answers only requests that carry the lab's metrics
token (`Authorization: Bearer TOKEN`; the token is in STATE/metrics.token, made on
first use, readable by its owner only). Values are read when scraped:

    mlopslab_gpu_utilization_percent{gpu,name}      the latest reading
    mlopslab_gpu_memory_used_bytes{gpu,name}
    mlopslab_gpu_power_watts{gpu,name}
    mlopslab_gpu_busy_seconds_total{kind,owner}     busy GPU-seconds attributed to each
    mlopslab_gpu_energy_joules_total{kind,owner}    run and deployment, all history
    mlopslab_cost_month{project,basis}              this UTC month, by allocation and by use
    mlopslab_runs{status}                           queued, starting, running
    mlopslab_alerts_open{severity}
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mlopslab.store import monitor_queries as q

if TYPE_CHECKING:
    from mlopslab.service.monitor_ops import MonitorOps


class LabCollector(Collector):
    def __init__(self, monitor: MonitorOps) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        yield from self._gpus()
        yield from self._owners()
        yield from self._cost()
        store = self.monitor.store
        runs = GaugeMetricFamily("mlopslab_runs", "Active runs by status.", labels=["status"])
        counts = store.run_status_counts()
        for status in ("queued", "starting", "running"):
            runs.add_metric([status], counts.get(status, 0))
        yield runs
        alerts = GaugeMetricFamily("mlopslab_alerts_open", "Open alerts.", labels=["severity"])
        open_ = q.alerts(store)
        for severity in ("info", "warning", "critical"):
            alerts.add_metric([severity], sum(a.severity == severity for a in open_))
        yield alerts

    def _gpus(self) -> Iterable[Metric]:
        snap = self.monitor.sampler.latest
        families = {
            "utilization_percent": ("GPU utilization (latest reading).", lambda d: d.utilization_pct),
            "memory_used_bytes": ("GPU memory in use.", lambda d: d.memory_used),
            "power_watts": ("GPU power draw.", lambda d: d.power_w),
        }
        for suffix, (doc, read) in families.items():
            family = GaugeMetricFamily(f"mlopslab_gpu_{suffix}", doc, labels=["gpu", "name"])
            for device in snap.devices if snap else ():
                value = read(device)
                if value is not None:
                    family.add_metric([str(device.index), device.name], float(value))
            yield family

    def _owners(self) -> Iterable[Metric]:
        busy = CounterMetricFamily("mlopslab_gpu_busy_seconds", "Busy GPU-seconds attributed.",
                                   labels=["kind", "owner"])
        energy = CounterMetricFamily("mlopslab_gpu_energy_joules", "GPU energy attributed.",
                                     labels=["kind", "owner"])
        for use in q.uses(self.monitor.store, None, None):
            busy.add_metric([use.kind, use.id], use.busy_gpu_s)
            energy.add_metric([use.kind, use.id], use.energy_j)
        yield busy
        yield energy

    def _cost(self) -> Iterable[Metric]:
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        cost = GaugeMetricFamily("mlopslab_cost_month", "Cost this UTC month, in the lab's "
                                 "currency.", labels=["project", "basis"])
        for line in self.monitor.lines("project", month.timestamp()):
            cost.add_metric([line.key, "allocation"], line.cost_allocated)
            cost.add_metric([line.key, "use"], line.cost_used)
        yield cost


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _guarded(app: Callable[..., Any], token: str) -> Callable[..., Any]:
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer"),
                                                ("Content-Type", "text/plain")])
            return [b"a bearer token is required (STATE/metrics.token of the lab)\n"]
        return app(environ, start_response)

    return guarded


def serve_metrics(monitor: MonitorOps, host: str, port: int, token: str) -> WSGIServer:
    """Start the exporter in a thread; the server (shut it down to stop)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LabCollector(monitor))
    app = _guarded(make_wsgi_app(registry), token)
    server = make_server(host, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="prometheus").start()
    return server
