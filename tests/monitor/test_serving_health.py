"""Serving health: a real model server's counters, scraped by the real lab service;
quantiles exact to the histogram's buckets; SLO alerts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlopslab.client import LabClient, daemon
from mlopslab.core.serving_health import ServerCounters, difference, quantile
from mlopslab.lab import Lab, init_lab
from mlopslab.service.serving_watch import counters
from mlopslab.serving.metrics import Metrics
from tests.conftest import configure, mlopslab, mlopslab_json
from tests.deploy.test_cli import _classifiers, _infer
from tests.monitor.test_monitor_service import until

INF = float("inf")


def test_quantiles_interpolate_inside_their_bucket() -> None:
    buckets = ((0.001, 50.0), (0.01, 90.0), (0.1, 100.0), (INF, 100.0))
    assert quantile(buckets, 0.5) == pytest.approx(0.001)
    assert quantile(buckets, 0.7) == pytest.approx(0.001 + 0.009 * (20 / 40))
    assert quantile(buckets, 0.99) == pytest.approx(0.01 + 0.09 * 0.9)
    assert quantile(((0.1, 0.0), (INF, 0.0)), 0.5) is None
    assert quantile(((0.1, 1.0), (INF, 10.0)), 0.99) == 0.1  # beyond the last bound


def test_a_scrape_keeps_the_difference_and_a_restart_starts_again() -> None:
    def at(ts: float, requests: float) -> ServerCounters:
        return ServerCounters(ts, requests, requests / 10, 0, ((0.01, requests), (INF, requests)),
                              requests * 0.002, 1, requests, requests)
    d = difference(at(0, 100), at(10, 250), 10)
    assert (d.requests, d.errors, d.seconds, d.buckets[0]) == (150, 15, 10, (0.01, 150))
    restarted = difference(at(10, 250), at(20, 30), 10)  # the server came back from zero
    assert restarted.requests == 30 and restarted.buckets[-1] == (INF, 30)


def test_the_counters_of_a_model_servers_metrics_text_are_read() -> None:
    m = Metrics("clf", "3")
    for seconds, status in ((0.0004, 200), (0.003, 200), (0.003, 500), (0.2, 503)):
        m.answered(status, seconds)
    m.batch_rows.observe(4)
    c = counters(m.render().decode(), ts=1.0)
    assert (c.requests, c.errors, c.batches, c.batch_rows) == (4, 2, 1, 4)
    assert dict(c.buckets)[0.0005] == 1 and dict(c.buckets)[INF] == 4
    assert c.latency_sum_s == pytest.approx(0.2064)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Lab, str]]:
    lab = configure(init_lab(tmp_path / "lab", "health"),
                    monitor={"serving_interval_s": 0.5, "alerts_interval_s": 0.5},
                    slo={"deployment": {"web": {"p99_ms": 0.0001, "window": "1m",
                                                "min_requests": 20}}})
    data, files = _classifiers(tmp_path)
    mlopslab_json(lab, "models", "register", "--file", str(files[0]), "--name", "clf", "--data",
                  str(data), "--target", "target")
    endpoint = mlopslab_json(lab, "deploy", "clf@1", "--name", "web")["endpoint"]
    yield lab, endpoint
    mlopslab(lab, "undeploy", "web", check=False)
    daemon.stop(lab, stop_ray=False)


def test_a_deployments_requests_and_latency_are_scraped_and_its_slo_alerts(
        served: tuple[Lab, str]) -> None:
    lab, endpoint = served
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    with LabClient(lab) as client:
        start = time.time()
        time.sleep(1.2)  # the first scrape is the baseline
        for _ in range(40):
            _infer(endpoint, x)

        def seen() -> object:
            h = client.monitor.serving_health("web", since=start)
            return h if h.requests >= 40 else None

        health = until(seen, timeout=15)
        assert health.requests == 40 and health.errors == 0 and health.error_rate == 0
        assert health.p50_ms is not None and 0 < health.p50_ms <= (health.p99_ms or 0) < 1000
        assert health.batch_rows_mean == pytest.approx(2.0)
        assert health.versions == ["1"]
        slo = until(lambda: [a for a in client.monitor.alerts() if a.rule == "slo"], timeout=15)
        assert slo[0].subject == "deployment:web p99" and "breaks its SLO" in slo[0].message
        with pytest.raises(Exception, match="no deployment 'nope'"):
            client.monitor.serving_health("nope", since=start)
