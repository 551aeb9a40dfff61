"""The Prometheus exporter: off by default, on 127.0.0.1 when configured, and only
for scrapes with the lab's token."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mlopslab.client import LabClient
from mlopslab.lab import Lab
from tests.conftest import configure
from tests.monitor.test_alert_delivery import free_port, memory_trace
from tests.monitor.test_monitor_service import until


def test_the_exporter_needs_the_token_and_shows_gpus_runs_and_alerts(lab: Lab, tmp_path: Path) -> None:
    replay = tmp_path / "gpus.jsonl"
    memory_trace(replay, used_gib=79)
    port = free_port()
    lab = configure(lab, gpu={"source": f"replay:{replay}"},
                    monitor={"interval_s": 0.2, "alerts_interval_s": 0.3, "prometheus_port": port})
    url = f"http://127.0.0.1:{port}/metrics"
    with LabClient(lab) as client:
        until(lambda: client.monitor.alerts())
        time.sleep(0.5)
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        token = (lab.state / "metrics.token").read_text().strip()
        assert (lab.state / "metrics.token").stat().st_mode & 0o077 == 0
        reply = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(reply.text) for s in f.samples}
        assert samples[("mlopslab_gpu_memory_used_bytes",
                        (("gpu", "0"), ("name", "NVIDIA H100 80GB HBM3")))] == 79 * 1024**3
        assert samples[("mlopslab_alerts_open", (("severity", "warning"),))] == 1
        assert ("mlopslab_runs", (("status", "queued"),)) in samples


def test_the_exporter_is_off_unless_configured(lab: Lab) -> None:
    assert lab.config.monitor.prometheus_port == 0
    with LabClient(lab) as client:
        client.service.ping()
    assert not (lab.state / "metrics.token").exists()
