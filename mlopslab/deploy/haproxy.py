"""HAProxy as a deployment's data path, steered by its gateway process through the runtime API.

    python -m mlopslab.deploy.gateway --proxy haproxy --dir D --port P --fd N

The gateway process (deploy/gateway.py) keeps everything it does with the Python
proxy (routes.json, the steering socket, the watch, events.jsonl) and runs HAProxy
as its child on the same inherited listening socket (`bind fd@N`): HAProxy carries
the requests, the gateway decides where they go.

Two server slots, `a` and `b`, hold the active and the previous replica. One map
entry (routes.map: `route a`, or `route b+watch` while a new version is watched)
says which slot takes the traffic, so a switch or a rollback is one `set map`
command: atomic, no reload, no connection dropped. A new version goes into the
slot the previous one does not hold (`set server ... addr`) before the map moves.
While watching, requests go through the `watch` backend (a 5xx, a refused or a
broken connection is retried once on the other slot, as the Python gateway does)
and each is logged, one line to HAProxy's stdout, which the gateway reads for the
watch's error rate and p99. Outside the watch nothing is logged and only a
connection that fails is retried on the other slot.

The config is written from code with no user value in it: its file names are
relative to the deployment's folder (HAProxy runs there), servers are ports on
127.0.0.1, names are fixed. HAProxy dies with its gateway (PR_SET_PDEATHSIG), so a
restarted gateway can bind the port again; `stop_leftover` covers the moment between.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import ipaddress
import os
import shutil
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

from mlopslab.core.errors import DeployError
from mlopslab.deploy.process import terminate

SLOTS = ("a", "b")
BACKENDS = ("serve", "watch")
CONFIG, ADMIN, MAP, PIDFILE = "haproxy.cfg", "haproxy.sock", "routes.map", "haproxy.pid"
WATCH = "+watch"
PROXIES = ("auto", "haproxy", "python")


SYSTEM_DIRS = "/usr/sbin:/sbin:/usr/local/sbin"  # where Debian puts it; not on a user's PATH there


def binary() -> str | None:
    """The haproxy program: on PATH, else in the system folders Debian installs it to."""
    return shutil.which("haproxy") or shutil.which("haproxy", path=SYSTEM_DIRS)


def resolve(choice: str) -> str:
    """Which proxy a configured choice ([deploy] proxy) gives here: "haproxy" or "python"."""
    if choice not in PROXIES:
        raise DeployError(f"unknown proxy {choice!r}", hint=f"[deploy] proxy is one of {', '.join(PROXIES)}")
    if choice == "python":
        return "python"
    if binary():
        return "haproxy"
    if choice == "haproxy":
        raise DeployError('[deploy] proxy = "haproxy", but no haproxy program is on PATH',
                          hint='install it (Debian: apt-get install haproxy), or set proxy = "auto"')
    return "python"


def address(url: str) -> tuple[str, int]:
    """The IP and port of a replica's URL, checked, so nothing else reaches a config or a command."""
    parts = urlsplit(url)
    host = str(ipaddress.ip_address(parts.hostname or ""))
    port = parts.port
    if port is None or not 0 < port < 65536:
        raise ValueError(f"no port in {url!r}")
    return host, port


def _server(slot: str, url: str | None) -> str:
    if url is None:
        return f"    server {slot} 127.0.0.1:1 disabled"
    host, port = address(url)
    return f"    server {slot} {host}:{port}"


def render(fd: int, slots: dict[str, str | None], route: str) -> str:
    """The whole config: FD the inherited endpoint, SLOTS each slot's replica URL (or None)."""
    if route.removesuffix(WATCH) not in SLOTS:
        raise ValueError(f"bad route {route!r}")
    servers = [_server(slot, slots.get(slot)) for slot in SLOTS]
    rules = [f"    use-server {slot} if {{ var(txn.route) -m beg {slot} }}" for slot in SLOTS]
    return "\n".join([
        "global",
        "    nbthread 1",
        "    maxconn 4096",
        "    hard-stop-after 10s",
        f"    stats socket unix@{ADMIN} mode 600 level admin",
        "    log stdout format raw local0",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 30s",
        "    timeout http-request 30s",
        "    timeout http-keep-alive 60s",
        "    timeout queue 5s",
        "    retries 1",
        "    option redispatch 1",
        "frontend endpoint",
        f"    bind fd@{int(fd)}",
        '    log-format "%s %ST %Ta %rc"',
        f"    http-request set-var(txn.route) str(route),map({MAP},a)",
        f"    http-request set-log-level silent unless {{ var(txn.route) -m end {WATCH} }}",
        f"    use_backend watch if {{ var(txn.route) -m end {WATCH} }}",
        "    default_backend serve",
        "backend serve",
        "    retry-on conn-failure empty-response",
        *rules, *servers,
        "backend watch",
        "    option http-buffer-request",
        "    retry-on conn-failure empty-response response-timeout 500 502 503 504",
        *rules, *servers,
        "",
    ])


def command(directory: Path, line: str, timeout_s: float = 5.0) -> str:
    """One runtime API command (`;` separates several) to the HAProxy of DIRECTORY; its answer."""
    folder = os.open(directory, os.O_PATH)  # /proc/self/fd/N/...: short whatever the folder's path
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout_s)
            s.connect(f"/proc/self/fd/{folder}/{ADMIN}")
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError as e:
        raise DeployError(f"HAProxy does not answer ({e.strerror or type(e).__name__})") from e
    finally:
        os.close(folder)
    return b"".join(chunks).decode(errors="replace")


def set_route(directory: Path, slot: str, watching: bool) -> None:
    if slot not in SLOTS:
        raise ValueError(f"bad slot {slot!r}")
    _expect_quiet(command(directory, f"set map {MAP} route {slot}{WATCH if watching else ''}"))


def set_slot(directory: Path, slot: str, url: str) -> None:
    """Point SLOT (in both backends) at the replica at URL and make it ready."""
    if slot not in SLOTS:
        raise ValueError(f"bad slot {slot!r}")
    host, port = address(url)
    lines = [f"set server {backend}/{slot} {what}" for backend in BACKENDS
             for what in (f"addr {host} port {port}", "state ready")]
    answer = command(directory, "; ".join(lines))
    if "rejected" in answer.lower() or "no such" in answer.lower() or "require" in answer.lower():
        raise DeployError(f"HAProxy refused to point slot {slot} at {url}: {answer.strip()}")


def counters(directory: Path) -> dict[str, dict[str, int]]:
    """Per slot, summed over both backends: requests, errors (5xx, failed and broken connections)."""
    found: dict[str, dict[str, int]] = {slot: {"requests": 0, "errors": 0} for slot in SLOTS}
    text = command(directory, "show stat").lstrip("# ")
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("pxname") in BACKENDS and row.get("svname") in SLOTS:
            seen = found[row["svname"]]
            seen["requests"] += _int(row.get("stot"))
            seen["errors"] += sum(_int(row.get(k)) for k in ("hrsp_5xx", "econ", "eresp"))
    return found


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _expect_quiet(answer: str) -> None:
    if answer.strip():
        raise DeployError(f"HAProxy refused a route change: {answer.strip()}")


def args(directory: Path) -> list[str]:
    """HAProxy's command line: foreground, the config by its full path (how a leftover is found)."""
    return [binary() or "haproxy", "-db", "-f", str(directory / CONFIG)]


def die_with_parent() -> None:
    """In the child before exec: SIGKILL when the gateway that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop_leftover(directory: Path) -> None:
    """Stop an HAProxy of DIRECTORY whose gateway is gone (it still holds the port for a moment)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((directory / PIDFILE).read_text())
        terminate(pid, str(directory / CONFIG), timeout=5)
