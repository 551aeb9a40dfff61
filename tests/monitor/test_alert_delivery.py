"""Alerts leave the lab: a program and a webhook (a real HTTP server on 127.0.0.1)
receive them; a webhook that is down holds up nothing and gets them once it is up."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlopslab.client import LabClient
from mlopslab.lab import Lab
from tests.conftest import configure
from tests.monitor.test_monitor_service import until

GIB = 1024**3
TOKEN = "s3cret-token-for-the-test"


def memory_trace(path: Path, used_gib: float) -> None:
    device = {"index": 0, "uuid": "GPU-0", "name": "NVIDIA H100 80GB HBM3", "utilization_pct": 0.0,
              "memory_used": int(used_gib * GIB), "memory_total": 80 * GIB, "processes": []}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"t": 0, "devices": [device]}) + "\n")
    tmp.replace(path)


class Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, Any], str | None]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.got.append((body, self.headers.get("Authorization")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_command_and_a_webhook_get_alerts_and_a_down_webhook_gets_them_later(
        lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replay, received = tmp_path / "gpus.jsonl", tmp_path / "received.jsonl"
    memory_trace(replay, used_gib=78)  # 97.5% full
    port = free_port()  # nothing listens there yet
    monkeypatch.setenv("MLOPSLAB_TEST_HOOK_TOKEN", TOKEN)
    writer = f"import sys; open({str(received)!r}, 'a').write(sys.stdin.read() + '\\n')"
    lab = configure(lab, gpu={"source": f"replay:{replay}"},
                    monitor={"interval_s": 0.2, "alerts_interval_s": 0.3},
                    alerts={"command": [sys.executable, "-c", writer], "retry_s": 1.0,
                            "webhook_url": f"http://127.0.0.1:{port}/hook?key=url-secret",
                            "webhook_token_env": "MLOPSLAB_TEST_HOOK_TOKEN"})
    Receiver.got = []
    with LabClient(lab) as client:
        raised = until(lambda: [a for a in client.monitor.alerts() if a.rule == "gpu_memory"])
        start = time.monotonic()
        lines = until(lambda: received.exists() and received.read_text().splitlines())
        assert time.monotonic() - start < 5  # the command is not held up by the dead webhook
        first = json.loads(lines[0])
        assert (first["event"], first["alert"]["id"]) == ("raised", raised[0].id)
        assert "memory 98% full" in first["alert"]["message"] and first["alert"]["subject"] == "gpu:0"
        time.sleep(2.5)  # the webhook was tried (and failed) meanwhile
        server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            until(lambda: Receiver.got, timeout=15)
            body, auth = Receiver.got[0]
            assert (body["event"], body["alert"]["id"]) == ("raised", raised[0].id)
            assert auth == f"Bearer {TOKEN}"
            memory_trace(replay, used_gib=10)  # the condition clears
            until(lambda: any(b["event"] == "resolved" for b, _ in Receiver.got), timeout=15)
            until(lambda: any(json.loads(x)["event"] == "resolved"
                              for x in received.read_text().splitlines()), timeout=15)
            assert [a.rule for a in client.monitor.alerts()] == []
            assert [a.status for a in client.monitor.alerts(all=True)] == ["resolved"]
        finally:
            server.shutdown()
    assert len([b for b, _ in Receiver.got if b["event"] == "raised"]) == 1
    log = (lab.state / "service.log").read_text()
    assert "not delivered to webhook" in log  # the failures were logged ...
    assert TOKEN not in log and "url-secret" not in log  # ... without the secrets
