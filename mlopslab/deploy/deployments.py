"""Deployments on disk: blue/green updates behind one gateway, rollback, undeploy, supervision.

    ROOT/NAME/deployment.json   backend, port, model name, options, policy, replicas
    ROOT/NAME/routes.json       which version takes traffic (written by the gateway)
    ROOT/NAME/events.jsonl      what the gateway decided alone (auto-rollbacks)
    ROOT/NAME/gateway.log
    ROOT/NAME/versions/V/       model.onnx and (process backend) server.log

Files, not the lab store, are the source of truth for what runs: the gateway and
the replicas outlive the lab service, and a restarted service (or any process
holding a Deployments) picks them up from here. Every change is also reported
through `on_event`, as one of the typed happenings of core/events.py (VersionDeployed,
DeploymentRolledBack, ...), so the lab service can keep history in the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlopslab.core.deployments import (
    Deployment,
    ReplicaStatus,
    RolledBack,
    ServingOptions,
    Undeployed,
    WatchPolicy,
)
from mlopslab.core.errors import DeployError, EventError, NotFound
from mlopslab.core.events import (
    DEPLOYMENT_HAPPENINGS,
    DeploymentHappening,
    DeploymentRolledBack,
    DeploymentUndeployed,
    GatewayRestarted,
    ReplicaRestarted,
    VersionDeployed,
    VersionFailed,
    event_from_json,
)
from mlopslab.deploy import control, haproxy
from mlopslab.deploy.backend import Backend, Replica, ReplicaSpec, free_port, listen
from mlopslab.deploy.gateway import control_socket

READY_TIMEOUT_S = 90.0


class Deployments:
    def __init__(self, root: Path, backends: dict[str, Backend],
                 on_event: Callable[[DeploymentHappening], None] | None = None, proxy: str = "auto") -> None:
        self.root = root
        self.backends = backends
        self.proxy = proxy  # [deploy] proxy: what carries each endpoint's traffic (deploy/haproxy.py)
        self.on_event = on_event or (lambda event: None)
        self._held = threading.local()
        root.mkdir(parents=True, exist_ok=True)

    # reading ---------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/deployment.json"))

    def show(self, name: str) -> Deployment:
        state = self._state(name)
        routes = self._routes(name)
        active, previous = routes.get("active") or {}, routes.get("previous") or {}
        replicas = []
        for version, data in sorted(state["replicas"].items(), key=lambda kv: _order(kv[0])):
            role = "active" if version == active.get("version") else (
                "previous" if version == previous.get("version") else "stopped")
            replicas.append(self._replica_status(state, data, role))
        return Deployment(
            name=name, backend=state["backend"], model=state["model_name"],
            endpoint=f"http://127.0.0.1:{state['port']}", port=state["port"],
            status="starting" if state.get("creating") else "created",
            active_version=active.get("version"), previous_version=previous.get("version"),
            gateway=control.status(self.root / name, name, state.get("gateway_pid")), replicas=replicas,
            options=ServingOptions(**state["options"]), policy=WatchPolicy.from_dict(state["policy"]),
            created_at=state["created_at"], updated_at=state["updated_at"])

    def _replica_status(self, state: dict[str, Any], data: dict[str, Any], role: str) -> ReplicaStatus:
        replica = Replica.from_dict(data)
        return ReplicaStatus(backend=replica.backend, handle=replica.handle, version=replica.version,
                             url=replica.url, port=replica.port, started_at=data.get("started_at"),
                             restarts=data.get("restarts", 0), role=role, model_sha256=data.get("model_sha256"),
                             alive=self._backend(state).alive(replica) if role != "stopped" else False)

    def _port_of(self, name: str) -> int | None:
        state = self._maybe_state(name)
        return int(state["port"]) if state else None

    def backend_of(self, name: str) -> str | None:
        state = self._maybe_state(name)
        return state["backend"] if state else None

    def overview(self) -> list[Deployment]:
        return [self.show(name) for name in self.names()]

    # changing ---------------------------------------------------------------

    def deploy(self, name: str, model_file: Path, model_name: str, version: str, backend: str = "process",
               port: int | None = None, options: ServingOptions | None = None,
               policy: WatchPolicy | None = None, labels: dict[str, str] | None = None,
               ready_timeout_s: float = READY_TIMEOUT_S) -> Deployment:
        """Start VERSION beside the active one; switch the endpoint to it once it is ready.

        The first deploy of NAME either ends with its endpoint serving VERSION or leaves
        nothing behind: whatever fails (the port, the gateway, the version), what was made
        is stopped and removed before the error goes on.
        """
        with self._lock(name):
            state = self._maybe_state(name)
            if state is None:
                self._create(name, backend, port, model_name, options, policy,
                             lambda made: self._update(made, model_file, version, labels or {}, ready_timeout_s))
            else:
                _check_same(state, backend, port)
                self._ensure_gateway(state)
                self._update(state, model_file, version, labels or {}, ready_timeout_s)
        return self.show(name)

    def _create(self, name: str, backend: str, port: int | None, model_name: str,
                options: ServingOptions | None, policy: WatchPolicy | None,
                first: Callable[[dict[str, Any]], None]) -> None:
        """Make deployment NAME and run FIRST on it; on any failure, take it all down again."""
        if backend not in self.backends:
            raise DeployError(f"unknown backend '{backend}'", hint=f"one of {', '.join(self.backends)}")
        owner = next((other for other in self.names() if port and self._port_of(other) == port), None)
        if owner:
            raise DeployError(f"port {port} is the endpoint of deployment '{owner}'",
                              hint=f"give another --port, or `--name {owner}` to update that deployment")
        endpoint = listen(port or 0)  # a taken port fails here, before anything is recorded
        state = self._new(name, backend, int(endpoint.getsockname()[1]), model_name, options, policy)
        try:
            with endpoint:  # closed here once the gateway has its own copy
                self._ensure_gateway(state, endpoint)
            first(state)
        except BaseException:
            self._discard(state)
            raise
        state.pop("creating", None)
        self._save(state)

    def _update(self, state: dict[str, Any], model_file: Path, version: str, labels: dict[str, str],
                ready_timeout_s: float) -> None:
        name = state["name"]
        routes = self._routes(name)
        active, warm = routes.get("active"), routes.get("previous")
        if active and active["version"] == version:
            return
        if warm and warm["version"] == version and self._backend(state).alive(self._replica(state, version)):
            self.rollback(name, reason=f"deploy {version}: the previous version, still warm")
            return
        replica = self._start_ready(state, model_file, version, labels, ready_timeout_s)
        previous = self._replica(state, active["version"]) if active else None
        started = time.perf_counter()
        try:
            self._steer(name, {"op": "switch", "active": _route(replica),
                               "previous": _route(previous) if previous else None, "policy": state["policy"]})
        except DeployError:
            self._backend(state).stop(replica)  # traffic never moved: the new replica goes
            state["replicas"].pop(version, None)
            self._save(state)
            raise
        switch_s = time.perf_counter() - started
        self._stop_others(state, {version, previous.version if previous else ""})
        self._save(state)
        self._emit(VersionDeployed(deployment=name, ts=time.time(), version=version,
                                   from_version=previous.version if previous else None, switch_s=switch_s))

    def rollback(self, name: str, reason: str | None = None) -> RolledBack:
        """Send traffic back to the previous version (still warm); the two swap roles."""
        with self._lock(name):
            state = self._state(name)
            routes = self._routes(name)
            if not routes.get("previous"):
                raise DeployError(f"deployment '{name}' has no previous version to roll back to",
                                  hint=f"only one version runs; `mlopslab deploy MODEL@N --name {name}` "
                                       "deploys another, and the one serving now stays warm for rollback")
            if not self._gateway_alive(state):
                self._ensure_gateway(state)
            started = time.perf_counter()
            self._steer(name, {"op": "rollback", "reason": reason or "asked"})
            seconds = time.perf_counter() - started
            result = self.show(name)
            self._emit(DeploymentRolledBack(deployment=name, ts=time.time(), version=result.active_version,
                                            from_version=result.previous_version, switch_s=seconds,
                                            reason=reason))
        return RolledBack.of(result, seconds)

    def undeploy(self, name: str) -> Undeployed:
        with self._lock(name):
            self._discard(self._state(name))
            self._emit(DeploymentUndeployed(deployment=name, ts=time.time()))
        return Undeployed(name)

    def supervise(self) -> list[DeploymentHappening]:
        """Restart dead gateways and replicas, and pass on what gateways decided alone."""
        events: list[DeploymentHappening] = []
        for name in self.names():
            try:
                events += self._supervise(name)
            except DeployError as e:  # e.g. its engine is gone: the others are still looked after
                print(f"supervising deployment {name}: {e.message}", file=sys.stderr, flush=True)
        return events

    def _supervise(self, name: str) -> list[DeploymentHappening]:
        events: list[DeploymentHappening] = []
        with self._lock(name):
            state = self._maybe_state(name)
            if state is None:
                return events
            if state.get("creating") or not (state["replicas"] or self._routes(name).get("active")):
                # we hold its lock, so whoever was making it is gone (or an older mlopslab left it)
                self._discard(state)
                print(f"deployment {name}: its first deploy never finished; removed what it left",
                      file=sys.stderr, flush=True)
                return events
            if not self._gateway_alive(state):
                self._ensure_gateway(state)
                events.append(self._emit(GatewayRestarted(deployment=name, ts=time.time(),
                                                          pid=int(state["gateway_pid"]))))
            events += self._restart_dead(state)
            events += self._gateway_events(state)
            self._save(state)
        return events

    # parts -------------------------------------------------------------------

    def _new(self, name: str, backend: str, port: int, model_name: str,
             options: ServingOptions | None, policy: WatchPolicy | None) -> dict[str, Any]:
        now = time.time()
        return {"name": name, "backend": backend, "port": port, "model_name": model_name,
                "options": (options or ServingOptions()).to_dict(),
                "policy": (policy or WatchPolicy()).to_dict(), "replicas": {}, "creating": True,
                "gateway_pid": None, "events_offset": 0, "created_at": now, "updated_at": now}

    def _discard(self, state: dict[str, Any]) -> None:
        """Stop the gateway and every replica, and remove the deployment's files."""
        name = state["name"]
        try:
            control.stop(state.get("gateway_pid"), self.root / name)
            self._stop_others(state, set())
        finally:
            shutil.rmtree(self.root / name, ignore_errors=True)
            control_socket(self.root / name).unlink(missing_ok=True)

    def _start_ready(self, state: dict[str, Any], model_file: Path, version: str, labels: dict[str, str],
                     timeout_s: float) -> Replica:
        directory = self.root / state["name"] / "versions" / version
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        os.chmod(directory, 0o755)  # a container's non-root user reads it
        target = directory / "model.onnx"
        if not target.exists():
            shutil.copyfile(model_file, target)
            os.chmod(target, 0o644)
        old = state["replicas"].get(version)
        backend = self._backend(state)
        if old and backend.alive(Replica.from_dict(old)):
            backend.stop(Replica.from_dict(old))
        spec = ReplicaSpec(state["name"], version, state["model_name"], directory, free_port(),
                           ServingOptions(**state["options"]),
                           {"mlopslab.deployment": state["name"], "mlopslab.version": version, **labels})
        replica = backend.start(spec)
        state["replicas"][version] = {**replica.__dict__, "started_at": time.time()}
        self._save(state)
        problem = _wait_ready(replica, backend, timeout_s)
        if problem:
            backend.stop(replica)
            logs = backend.logs(replica, directory, 8)
            state["replicas"].pop(version, None)
            self._save(state)
            self._emit(VersionFailed(deployment=state["name"], ts=time.time(), version=version, reason=problem))
            raise DeployError(f"version {version} never became ready ({problem}); traffic stays where "
                              f"it was", hint=f"its log ends:\n{logs}" if logs else None)
        backend.on_ready(replica)
        return replica

    def _replica(self, state: dict[str, Any], version: str) -> Replica:
        return Replica.from_dict(state["replicas"][version])

    def _stop_others(self, state: dict[str, Any], keep: set[str]) -> None:
        backend = self._backend(state)
        for version in [v for v in state["replicas"] if v not in keep]:
            backend.stop(Replica.from_dict(state["replicas"].pop(version)))

    def _restart_dead(self, state: dict[str, Any]) -> list[DeploymentHappening]:
        backend, events = self._backend(state), []
        for version, data in list(state["replicas"].items()):
            replica = Replica.from_dict(data)
            if backend.alive(replica):
                continue
            directory = self.root / state["name"] / "versions" / version
            spec = ReplicaSpec(state["name"], version, state["model_name"], directory, replica.port,
                               ServingOptions(**state["options"]),
                               {"mlopslab.deployment": state["name"], "mlopslab.version": version})
            backend.stop(replica)  # a dead container is removed before its port is reused
            fresh = backend.start(spec)
            state["replicas"][version] = {**data, **fresh.__dict__, "restarts": data.get("restarts", 0) + 1}
            problem = _wait_ready(fresh, backend, READY_TIMEOUT_S)
            if problem is None:
                backend.on_ready(fresh)
            events.append(self._emit(ReplicaRestarted(deployment=state["name"], ts=time.time(), version=version,
                                                      problem=problem)))
        return events

    def _gateway_events(self, state: dict[str, Any]) -> list[DeploymentHappening]:
        path = self.root / state["name"] / "events.jsonl"
        if not path.exists():
            return []
        with open(path) as f:
            f.seek(state.get("events_offset", 0))
            lines = f.readlines()
            state["events_offset"] = f.tell()
        found = (_gateway_event(state["name"], line) for line in lines)
        return [self._emit(event) for event in found if event is not None]

    def _ensure_gateway(self, state: dict[str, Any], endpoint: socket.socket | None = None) -> None:
        """Start the gateway on ENDPOINT, or on a socket bound here to the deployment's port."""
        if self._gateway_alive(state):
            return
        directory = self.root / state["name"]
        state["proxy"] = haproxy.resolve(self.proxy)
        state["gateway_pid"] = control.start(directory, state["port"], endpoint, state["proxy"])
        self._save(state)  # before waiting: a failure still knows what to stop
        control.wait_answering(directory, state["name"], state["gateway_pid"], state["port"])

    def _gateway_alive(self, state: dict[str, Any]) -> bool:
        return control.alive(state.get("gateway_pid"))

    def _steer(self, name: str, message: dict[str, Any]) -> dict[str, Any]:
        return control.steer(self.root / name, name, message)

    def _routes(self, name: str) -> dict[str, Any]:
        path = self.root / name / "routes.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _backend(self, state: dict[str, Any]) -> Backend:
        backend = self.backends.get(state["backend"])
        if backend is None:
            raise DeployError(f"backend '{state['backend']}' is not available here")
        return backend

    def _state(self, name: str) -> dict[str, Any]:
        state = self._maybe_state(name)
        if state is None:
            raise NotFound(f"no deployment '{name}'", hint="see `mlopslab deployments ls`")
        return state

    def _maybe_state(self, name: str) -> dict[str, Any] | None:
        path = self.root / name / "deployment.json"
        return dict(json.loads(path.read_text())) if path.exists() else None

    def _save(self, state: dict[str, Any]) -> None:
        state["updated_at"] = time.time()
        path = self.root / state["name"] / "deployment.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        if not name or "/" in name or name.startswith("."):
            raise DeployError(f"bad deployment name {name!r}")
        held: set[str] = self._held.__dict__.setdefault("names", set())
        if name in held:  # this thread has it already (deploy -> rollback)
            yield
            return
        with open(self.root / f".{name}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            held.add(name)
            try:
                yield
            finally:
                held.discard(name)

    def _emit(self, event: DeploymentHappening) -> DeploymentHappening:
        self.on_event(event)
        return event


def _check_same(state: dict[str, Any], backend: str, port: int | None) -> None:
    """An update keeps the deployment's backend and port; asking for others is a mistake to say."""
    name = state["name"]
    if state["backend"] != backend:
        raise DeployError(f"deployment '{name}' runs on {state['backend']}, not {backend}",
                          hint="undeploy it first, or give another --name")
    if port is not None and port != state["port"]:
        raise DeployError(f"deployment '{name}' serves on port {state['port']}, not {port}",
                          hint=f"leave out --port to update it, or undeploy it first (`mlopslab undeploy {name}`)")


def _gateway_event(name: str, line: str) -> DeploymentHappening | None:
    """What one line of a gateway's events.jsonl says (a happening in its wire form; an older
    gateway left out the deployment); None, said on stderr, for a line this version cannot read."""
    try:
        data = {"deployment": name, **json.loads(line)}
        if "to_version" in data:  # a gateway started by an older mlopslab names the new version so
            data.setdefault("version", data.pop("to_version"))
        event = event_from_json(data)
    except (ValueError, EventError) as e:  # a torn line, or a kind this version does not know
        why = e.message if isinstance(e, EventError) else str(e)
        print(f"deployment {name}: skipped a gateway event ({why}): {line.strip()}", file=sys.stderr, flush=True)
        return None
    if not isinstance(event, DEPLOYMENT_HAPPENINGS):
        print(f"deployment {name}: skipped a gateway event of kind {event.kind!r}", file=sys.stderr, flush=True)
        return None
    return event


def _route(replica: Replica) -> dict[str, str]:
    return {"version": replica.version, "url": replica.url}


def _order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)


def _wait_ready(replica: Replica, backend: Backend, timeout_s: float) -> str | None:
    """None once the replica answers ready; else why not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(f"{replica.url}/v2/health/ready", timeout=2) as reply:
                if reply.status == 200:
                    return None
        if not backend.alive(replica):
            return "it exited"
        time.sleep(0.1)
    return f"not ready after {timeout_s:g} s"
