"""The endpoint through HAProxy: what only that path has (its child process, its config, its log)."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from mlopslab.core.deployments import WatchPolicy
from mlopslab.core.errors import DeployError
from mlopslab.deploy import haproxy
from mlopslab.deploy.deployments import Deployments
from mlopslab.deploy.haproxy_gateway import HAProxyGateway
from mlopslab.deploy.policy import Route
from mlopslab.deploy.process import ProcessBackend


@pytest.fixture
def installed() -> None:
    if haproxy.binary() is None:
        if os.environ.get("MLOPSLAB_REQUIRE_DOCKER"):
            pytest.fail("no haproxy on PATH, but MLOPSLAB_REQUIRE_DOCKER is set (CI installs the Debian package)")
        pytest.skip("no haproxy on PATH (apt-get install haproxy)")


def test_auto_is_haproxy_where_installed_else_the_python_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(haproxy, "binary", lambda: None)
    assert haproxy.resolve("auto") == "python" and haproxy.resolve("python") == "python"
    with pytest.raises(DeployError, match="no haproxy program"):
        haproxy.resolve("haproxy")
    monkeypatch.setattr(haproxy, "binary", lambda: "/usr/sbin/haproxy")
    assert haproxy.resolve("auto") == "haproxy" and haproxy.resolve("python") == "python"


def test_haproxy_in_usr_sbin_is_found_without_it_on_path(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian installs it to /usr/sbin, which is not on a normal user's PATH there."""
    if not Path("/usr/sbin/haproxy").exists():
        pytest.skip("haproxy is installed elsewhere than /usr/sbin here")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert haproxy.binary() == "/usr/sbin/haproxy"
    assert haproxy.resolve("auto") == "haproxy"


def test_the_config_holds_no_value_that_was_not_checked() -> None:
    text = haproxy.render(7, {"a": "http://127.0.0.1:5001", "b": None}, "a+watch")
    assert "bind fd@7" in text and "server a 127.0.0.1:5001" in text and "server b 127.0.0.1:1 disabled" in text
    for url in ("http://localhost:5001", "http://127.0.0.1:5001 backup", "http://127.0.0.1", "http://1.2.3.4:99999"):
        with pytest.raises(ValueError):
            haproxy.render(7, {"a": url}, "a")
    with pytest.raises(ValueError):
        haproxy.render(7, {"a": None}, "a\nglobal")


def test_the_watch_counts_what_haproxy_logged(tmp_path: Path) -> None:
    gateway = HAProxyGateway(tmp_path, fd=0)
    gateway.active, gateway.route = Route("2", "http://127.0.0.1:5002"), "b"
    for line in (b"b 200 3 0\n", b"b 200 5 0\n", b"a 200 9 +1\n", b"b 500 1 0\n", b"b 503 40 0\n", b"junk\n"):
        gateway.logged(line)
    stats = gateway.stats["2"]
    assert (stats.requests, stats.errors) == (5, 3)  # retried on the other slot, a 500 and a 503
    assert stats.p99_ms() == pytest.approx(40.0)


def test_haproxy_that_dies_is_started_again_and_goes_with_its_gateway(installed: None, tmp_path: Path,
                                                                     models: dict[str, Path]) -> None:
    odd = tmp_path / "a 'folder' with $HOME; #not a comment"  # nothing of the path reaches the config
    deployments = Deployments(odd, {"process": ProcessBackend()}, proxy="haproxy")
    shown = deployments.deploy("iris", models["v1"], "iris", "1")
    folder = odd / "iris"
    first = int((folder / haproxy.PIDFILE).read_text())
    assert _serves(shown.endpoint)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not (_pid(folder) not in (None, first) and _serves(shown.endpoint)):
        assert time.monotonic() < deadline, "HAProxy was not started again"
        time.sleep(0.1)
    gateway = psutil.Process(int(shown.gateway.pid or 0))
    assert all(c.status() != psutil.STATUS_ZOMBIE for c in gateway.children())  # the dead one was reaped
    second = _pid(folder)
    deployments.undeploy("iris")
    assert second is not None and not psutil.pid_exists(second) and not psutil.pid_exists(gateway.pid)


def test_a_switch_while_watched_retries_on_the_previous_version(installed: None, tmp_path: Path,
                                                                models: dict[str, Path]) -> None:
    deployments = Deployments(tmp_path, {"process": ProcessBackend()}, proxy="haproxy")
    try:
        deployments.deploy("iris", models["v1"], "iris", "1", policy=WatchPolicy(window_s=30, min_requests=1000))
        shown = deployments.deploy("iris", models["v2"], "iris", "2")
        assert shown.gateway.watching and haproxy.command(tmp_path / "iris", "show map routes.map").split()[-1:] \
            == ["b+watch"]
        deployments.rollback("iris")
        assert haproxy.command(tmp_path / "iris", "show map routes.map").split()[-1:] == ["a"]
    finally:
        deployments.undeploy("iris")


def _pid(folder: Path) -> int | None:
    try:
        return int((folder / haproxy.PIDFILE).read_text())
    except (OSError, ValueError):
        return None


def _serves(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/v2/health/ready", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False
