"""The stable endpoint of one deployment: a reverse proxy that owns the traffic switch.

    python -m mlopslab.deploy.gateway --dir DEPLOYMENT_DIR --port PORT [--host 127.0.0.1] [--fd FD]
        [--proxy python|haproxy]

With --fd it serves on FD, a socket its parent already bound and listens on (how
deploy/deployments.py starts it: a taken port fails there, before anything runs).

It sends every request to the active version and keeps the previous one's route,
so a switch or a rollback is one assignment in memory (no restart, no dropped
connection: requests already sent finish on the version they went to). It is
steered over a unix socket in DEPLOYMENT_DIR (JSON lines: `switch`, `rollback`,
`status`), writes its routes to routes.json on every change (a restarted gateway
comes back with them) and appends what it decides on its own to events.jsonl (one
happening of core/events.py a line, in its wire form: auto_rollback, watch_passed).

After a switch it watches the new version (deploy/policy.py): while the window
is open, a 5xx or a broken connection from the new version is retried once on the
previous one (still warm), and breaking the policy rolls back at once.

With --proxy haproxy the same process keeps all of this but HAProxy carries the
requests (deploy/haproxy_gateway.py): `apply` moves its route, `traffic` reads
its counters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from mlopslab.core.deployments import WatchPolicy
from mlopslab.core.events import DeploymentAutoRolledBack, DeploymentHappening, WatchPassed, event_to_json
from mlopslab.deploy.policy import Route
from mlopslab.deploy.upstream import Upstream, UpstreamError
from mlopslab.serving.protocol import dumps

HEALTH_PATH = "/v2/health/ready"


class VersionStats:
    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.latencies: deque[float] = deque(maxlen=2000)

    def add(self, ok: bool, seconds: float) -> None:
        self.requests += 1
        self.errors += 0 if ok else 1
        self.latencies.append(seconds)

    def p99_ms(self) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "p99_ms": self.p99_ms()}


class Gateway:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.active: Route | None = None
        self.previous: Route | None = None
        self.generation = 0
        self.policy: WatchPolicy | None = None
        self.watch_until = 0.0
        self.stats: dict[str, VersionStats] = {}
        self._upstreams: dict[str, Upstream] = {}
        self._health_failures = 0
        self._load()

    # routes ---------------------------------------------------------------

    def _load(self) -> None:
        path = self.dir / "routes.json"
        if path.exists():
            data = json.loads(path.read_text())
            self.active, self.previous = Route.from_dict(data.get("active")), Route.from_dict(data.get("previous"))
            self.generation = int(data.get("generation", 0))

    def _save(self) -> None:
        data = {"generation": self.generation, "active": self.active and self.active.__dict__,
                "previous": self.previous and self.previous.__dict__}
        tmp = self.dir / "routes.json.tmp"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.dir / "routes.json")

    def switch(self, active: Route, previous: Route | None, policy: WatchPolicy | None) -> dict[str, Any]:
        policy = policy if previous is not None else None
        self.apply(active, previous, watching=policy is not None)  # raises before anything changed
        self.active, self.previous = active, previous
        self.generation += 1
        self.stats[active.version] = VersionStats()
        self.policy = policy
        self.watch_until = time.monotonic() + self.policy.window_s if self.policy else 0.0
        self._health_failures = 0
        self._save()
        return self.status()

    def rollback(self, reason: str, automatic: bool) -> dict[str, Any]:
        if self.previous is None or self.active is None:
            raise ValueError("nothing to roll back to: the deployment has one version")
        bad, good = self.active, self.previous
        status = self.switch(good, bad, None)
        if automatic:  # one asked for is recorded by whoever asked (deploy/deployments.py)
            self.record(DeploymentAutoRolledBack(deployment=self.dir.name, ts=time.time(), version=good.version,
                                                 from_version=bad.version, reason=reason))
        return status

    def status(self) -> dict[str, Any]:
        return {"generation": self.generation, "active": self.active and self.active.__dict__,
                "previous": self.previous and self.previous.__dict__,
                "watching": self.watching(), "pid": os.getpid(),
                "stats": self.traffic()}

    def apply(self, active: Route, previous: Route | None, watching: bool) -> None:
        """Make the data path send new requests to ACTIVE; here the routes above are the data path."""

    def traffic(self) -> dict[str, dict[str, Any]]:
        """Requests, errors and p99 per version since it became active."""
        return {v: s.to_dict() for v, s in self.stats.items()}

    def record(self, event: DeploymentHappening) -> None:
        """Append what the gateway decided alone; supervision passes it on to the store."""
        with open(self.dir / "events.jsonl", "a") as f:
            f.write(json.dumps(event_to_json(event)) + "\n")

    def watching(self) -> bool:
        return self.policy is not None and time.monotonic() < self.watch_until

    # the watch ------------------------------------------------------------

    def verdict(self) -> str | None:
        """Why the active version breaks the policy, or None."""
        policy, active = self.policy, self.active
        if policy is None or active is None:
            return None
        stats = self.stats.get(active.version)
        if stats is None or stats.requests < policy.min_requests:
            return None
        rate = stats.errors / stats.requests
        if rate > policy.max_error_rate:
            return f"error rate {rate:.1%} over {stats.requests} requests > {policy.max_error_rate:.1%}"
        p99 = stats.p99_ms()
        if policy.p99_ms is not None and p99 is not None and p99 > policy.p99_ms:
            return f"p99 latency {p99:.1f} ms > {policy.p99_ms:g} ms"
        return None

    async def watch(self) -> None:
        last_health = 0.0
        while True:
            await asyncio.sleep(0.05)
            if not self.watching():
                if self.policy is not None:
                    if self.active is not None:
                        self.apply(self.active, self.previous, watching=False)
                    self.record(WatchPassed(deployment=self.dir.name, ts=time.time(),
                                            version=self.active.version if self.active else None))
                    self.policy = None
                continue
            reason = self.verdict()
            if reason is None and time.monotonic() - last_health >= self.policy.health_interval_s:  # type: ignore[union-attr]
                last_health = time.monotonic()
                reason = await self._health()
            if reason:
                self.rollback(reason, automatic=True)

    async def _health(self) -> str | None:
        assert self.active is not None and self.policy is not None
        try:
            status, _, _ = await self.upstream(self.active.url).request("GET", HEALTH_PATH, [], b"")
            ok = status == 200
        except UpstreamError:
            ok = False
        self._health_failures = 0 if ok else self._health_failures + 1
        if self._health_failures >= self.policy.health_failures:
            return f"readiness failed {self._health_failures} times in a row"
        return None

    # proxying -------------------------------------------------------------

    def upstream(self, url: str) -> Upstream:
        found = self._upstreams.get(url)
        if found is None:
            found = self._upstreams[url] = Upstream(url)
        return found

    async def forward(self, method: str, target: str, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        active, previous, watching = self.active, self.previous, self.watching()
        if active is None:
            return 503, [(b"retry-after", b"1")], dumps({"error": "the deployment has no ready version"})
        started = time.perf_counter()
        answer: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None
        try:
            answer = await self.upstream(active.url).request(method, target, headers, body)
            ok = answer[0] < 500
        except UpstreamError:
            ok = False
        self.stats.setdefault(active.version, VersionStats()).add(ok, time.perf_counter() - started)
        if ok and answer is not None:
            return answer
        fallback = previous if previous is not None and (watching or answer is None) else None
        if fallback is not None:
            with contextlib.suppress(UpstreamError):
                return await self.upstream(fallback.url).request(method, target, headers, body)
        if answer is not None:
            return answer
        return 502, [], dumps({"error": f"version {active.version} cannot be reached"})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self, receive, send)
            return
        if scope["type"] != "http":
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        target = scope["raw_path"].decode() + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        status, headers, body = await self.forward(scope["method"], target, scope["headers"], b"".join(chunks))
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # steering -------------------------------------------------------------

    async def steer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                try:
                    reply = {"ok": True, "result": self._command(json.loads(line))}
                except Exception as e:  # noqa: BLE001 - answer the caller
                    reply = {"ok": False, "error": str(e)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        writer.close()

    def _command(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "status":
            return self.status()
        if op == "switch":
            active = Route.from_dict(message["active"])
            assert active is not None
            policy = WatchPolicy.from_dict(message["policy"]) if message.get("policy") else None
            return self.switch(active, Route.from_dict(message.get("previous")), policy)
        if op == "rollback":
            return self.rollback(str(message.get("reason") or "asked"), automatic=False)
        raise ValueError(f"unknown op {op!r}")


async def _lifespan(gateway: Gateway, receive: Any, send: Any) -> None:
    tasks: list[asyncio.Task[Any]] = []
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            tasks.append(asyncio.get_running_loop().create_task(gateway.watch()))
            path = control_socket(gateway.dir)
            path.unlink(missing_ok=True)
            server = await asyncio.start_unix_server(gateway.steer, path=str(path))
            os.chmod(path, 0o600)
            tasks.append(asyncio.get_running_loop().create_task(server.serve_forever()))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for task in tasks:
                task.cancel()
            await send({"type": "lifespan.shutdown.complete"})
            return


def control_socket(directory: Path) -> Path:
    """The steering socket; in a short folder when the deployment's path is too long for one."""
    from mlopslab.sockets import socket_path

    return socket_path(directory / "gateway.sock", "gateway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlopslab.deploy.gateway")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fd", type=int, help="an inherited socket, bound and listening, to serve on")
    parser.add_argument("--proxy", choices=["python", "haproxy"], default="python",
                        help="what carries the traffic: this process, or HAProxy steered by it")
    args = parser.parse_args(argv)
    print(f"gateway ({args.proxy}) on {args.host}:{args.port} for {args.dir}", file=sys.stderr, flush=True)
    if args.proxy == "haproxy":
        from mlopslab.deploy.haproxy_gateway import serve

        return serve(args.dir, args.port, args.host, args.fd)
    return _serve_python(Gateway(args.dir), args.host, args.port, args.fd)


def _serve_python(gateway: Gateway, host: str, port: int, fd: int | None) -> int:
    import uvicorn

    config = uvicorn.Config(gateway, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10, backlog=2048)
    sockets = [socket.socket(fileno=fd)] if fd is not None else None
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    return 0 if server.started else 3  # as uvicorn.run: it never started (the port, say)


if __name__ == "__main__":
    sys.exit(main())
