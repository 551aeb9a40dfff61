"""The gateway with HAProxy carrying the traffic: routes, steering and the watch stay here.

HAProxyGateway is the Python gateway (deploy/gateway.py) whose data path is an
HAProxy child (deploy/haproxy.py): `apply` turns a switch into runtime API commands,
the watch's figures come from the lines HAProxy logs while a version is watched, and
`traffic` adds its per-slot counters. The child runs on the gateway's inherited
listening socket, so the port is never free while the gateway lives; an HAProxy that
dies is started again on that socket (connections wait in its backlog meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlopslab.core.errors import DeployError
from mlopslab.deploy import haproxy
from mlopslab.deploy.backend import listen
from mlopslab.deploy.gateway import Gateway, VersionStats, control_socket
from mlopslab.deploy.policy import Route

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 12.0  # HAProxy's own hard-stop-after is 10 s


class HAProxyGateway(Gateway):
    def __init__(self, directory: Path, fd: int) -> None:
        super().__init__(directory)
        self.fd = fd
        self.slots: dict[str, Route | None] = {"a": self.active, "b": self.previous}
        self.route = "a"
        self.baselines: dict[str, tuple[str, dict[str, int]]] = {}  # version: its slot, counters then
        self.proxy: asyncio.subprocess.Process | None = None
        self.stopping = False

    # the data path ----------------------------------------------------------

    def apply(self, active: Route, previous: Route | None, watching: bool) -> None:
        keep = self._slot_of(previous) if previous else self._slot_of(self.active)
        slot = self._slot_of(active) or next(s for s in haproxy.SLOTS if s != keep)
        other = next(s for s in haproxy.SLOTS if s != slot)
        if self.slots[slot] != active:
            haproxy.set_slot(self.dir, slot, active.url)
            self.slots[slot] = active
        if previous is not None and self.slots[other] != previous:
            haproxy.set_slot(self.dir, other, previous.url)
            self.slots[other] = previous
        if previous is None and self.slots[other] is not None:
            haproxy.command(self.dir, "; ".join(f"set server {b}/{other} state maint" for b in haproxy.BACKENDS))
            self.slots[other] = None
        haproxy.set_route(self.dir, slot, watching)
        if slot != self.route or active.version not in self.baselines:
            self.baselines[active.version] = (slot, haproxy.counters(self.dir)[slot])
        self.route = slot

    def _slot_of(self, route: Route | None) -> str | None:
        return next((s for s, held in self.slots.items() if route is not None and held == route), None)

    def traffic(self) -> dict[str, dict[str, Any]]:
        with contextlib.suppress(DeployError):
            now = haproxy.counters(self.dir)
            return {version: {"requests": now[slot]["requests"] - then["requests"],
                              "errors": now[slot]["errors"] - then["errors"],
                              "p99_ms": self.stats[version].p99_ms() if version in self.stats else None}
                    for version, (slot, then) in self.baselines.items()}
        return super().traffic()

    def logged(self, line: bytes) -> None:
        """One request HAProxy logged while the active version is watched: `SLOT STATUS TA_MS RETRIES`."""
        parts = line.split()
        if len(parts) != 4 or self.active is None:
            return
        slot, status, ms, retries = parts[0].decode(), int(parts[1]), int(parts[2]), parts[3]
        ok = slot == self.route and retries == b"0" and 0 < status < 500
        self.stats.setdefault(self.active.version, VersionStats()).add(ok, max(ms, 0) / 1000)

    # HAProxy, the child --------------------------------------------------------

    async def start_proxy(self) -> None:
        route = self.route + (haproxy.WATCH if self.watching() else "")
        urls = {slot: held.url if held else None for slot, held in self.slots.items()}
        (self.dir / haproxy.CONFIG).write_text(haproxy.render(self.fd, urls, route))
        (self.dir / haproxy.MAP).write_text(f"route {route}\n")
        self.proxy = await asyncio.create_subprocess_exec(
            *haproxy.args(self.dir), cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            pass_fds=(self.fd,), preexec_fn=haproxy.die_with_parent)
        (self.dir / haproxy.PIDFILE).write_text(str(self.proxy.pid))
        asyncio.get_running_loop().create_task(self._read_log(self.proxy))
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while self.proxy.returncode is None and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(DeployError):
                haproxy.command(self.dir, "show info")
                if self.active is not None:
                    self.baselines.setdefault(self.active.version, (self.route, haproxy.counters(self.dir)[self.route]))
                return
            await asyncio.sleep(0.05)
        raise DeployError(f"HAProxy did not start (exit code {self.proxy.returncode})")

    async def _read_log(self, proxy: asyncio.subprocess.Process) -> None:
        assert proxy.stdout is not None
        while line := await proxy.stdout.readline():
            with contextlib.suppress(ValueError):
                self.logged(line)

    async def keep_proxy(self) -> None:
        """Start HAProxy again when it dies on its own (the socket stays open here)."""
        while not self.stopping:
            assert self.proxy is not None
            code = await self.proxy.wait()
            if self.stopping:
                return
            print(f"haproxy exited with {code}; starting it again", file=sys.stderr, flush=True)
            self.baselines.clear()  # its counters start again from 0
            await asyncio.sleep(0.2)
            with contextlib.suppress(DeployError):
                await self.start_proxy()

    async def stop_proxy(self) -> None:
        """Soft stop (requests in flight are answered), then a kill after STOP_TIMEOUT_S."""
        self.stopping = True
        if self.proxy is None or self.proxy.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proxy.send_signal(signal.SIGUSR1)
        try:
            await asyncio.wait_for(self.proxy.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.proxy.kill()
            await self.proxy.wait()
        (self.dir / haproxy.PIDFILE).unlink(missing_ok=True)


async def _run(gateway: HAProxyGateway) -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await gateway.start_proxy()
        path = control_socket(gateway.dir)
        path.unlink(missing_ok=True)
        server = await asyncio.start_unix_server(gateway.steer, path=str(path))
        os.chmod(path, 0o600)
        tasks = [loop.create_task(gateway.watch()), loop.create_task(gateway.keep_proxy())]
        await stopped.wait()
        for task in tasks:
            task.cancel()
        server.close()
    finally:
        await gateway.stop_proxy()


def serve(directory: Path, port: int, host: str, fd: int | None) -> int:
    """Run the gateway with HAProxy on FD (else a socket bound here to HOST:PORT) until SIGTERM."""
    with contextlib.ExitStack() as closing:
        if fd is None:
            fd = closing.enter_context(listen(port, host)).fileno()
        try:
            asyncio.run(_run(HAProxyGateway(directory, fd)))
        except DeployError as e:
            print(f"gateway: {e.message}", file=sys.stderr, flush=True)
            return 3
    return 0
