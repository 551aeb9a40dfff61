"""The lab service: the one process that owns the lab's DuckDB store.

    python -m mlopslab.service.server --lab PATH

It answers clients over a unix socket (one JSON line per request), commits writes
in groups (service/writer.py), ingests the spool, supervises run processes and
starts the local Ray cluster on first use. See docs/architecture.md.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mlopslab import __version__
from mlopslab.api import PROTOCOL_VERSION
from mlopslab.api import runs as runs_api
from mlopslab.api import service as service_api
from mlopslab.api.wire import encode, error_message, parse_request, read_message, reply_line
from mlopslab.cluster import LocalCluster
from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.errors import MlopslabError, ServiceOutdated
from mlopslab.core.events import Event, RunUpdated
from mlopslab.core.gpus import GpuOwner
from mlopslab.core.run import Run, RunSpec
from mlopslab.core.runs import FINAL
from mlopslab.core.service_status import ServiceStatus
from mlopslab.lab import Lab
from mlopslab.monitor.gpu import open_source
from mlopslab.service.capacity import CapacityOracle
from mlopslab.service.decision_ops import DecisionOps
from mlopslab.service.deploy_ops import DeployOps
from mlopslab.service.dispatch import Handlers, call, handler_table
from mlopslab.service.drift_ops import DriftWatch
from mlopslab.service.loops import logged
from mlopslab.service.mlflow_mirror import MlflowMirror
from mlopslab.service.monitor_ops import MonitorOps, replica_roots
from mlopslab.service.prometheus import serve_metrics
from mlopslab.service.queries import Queries
from mlopslab.service.queue_ops import QueueOps
from mlopslab.service.registry_ops import RegistryOps
from mlopslab.service.runs import RunManager
from mlopslab.service.scheduler import Scheduler
from mlopslab.service.serving_watch import ServingWatch
from mlopslab.service.watchdog import Watchdog
from mlopslab.service.writer import GroupWriter
from mlopslab.spool import spooled
from mlopslab.store.db import Store

SPOOL_INTERVAL_S = 2.0


class LabService:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.config = lab.config
        self.started_at = time.time()
        self.store = Store(lab.db_path)
        self.writer = GroupWriter(self.store, self.config.service.max_batch_rows)
        self.runs = RunManager(lab, self.store, self.writer)
        self.queries = Queries(self.store)
        ray = self.config.ray
        self.local_cluster = LocalCluster(lab.state, ray.num_cpus, ray.num_gpus, ray.port,
                                          self.config.gpu.source)
        self.capacity = CapacityOracle(self.config)
        self.scheduler = Scheduler(self.config, self.store, self.writer, self.runs, self.capacity)
        gpus = open_source(self.config.gpu.source)  # one NVML session for the whole service
        self.watchdog = Watchdog(self.store, self.runs, gpus)
        self.queue = QueueOps(self)
        self._cluster_lock = threading.Lock()
        self.stopping = threading.Event()
        self.stop_ray = False
        self.registry = RegistryOps(lab, self.store, self.writer, self.stopping)
        self.deploy = DeployOps(lab, self.store, self.writer)
        self.monitor = MonitorOps(self.config, self.store, self.writer, gpus, self.gpu_roots,
                                  self.scheduler.wake)
        self.scheduler.budget_block = self.monitor.budget_block
        self.serving = ServingWatch(self.store, self.config, self.deploy.deployments.overview)
        self.monitor.rules.extra.append(self.serving.conditions)
        self.drift = DriftWatch(lab, self.store, self.config, self.deploy.deployments.overview)
        self.mirror = MlflowMirror(lab, self.store, self.config.mlflow)
        self.monitor.rules.extra.append(self.drift.conditions)
        self.decisions = DecisionOps(lab, self.config, self.store, self.writer, self.registry,
                                     self.deploy, self.op_submit_run)
        self.handlers = handler_table(self.own_handlers(), self.queries.handlers(),
                                      self.queue.handlers(), self.registry.handlers(),
                                      self.deploy.handlers(), self.monitor.handlers(),
                                      self.serving.handlers(), self.drift.handlers(),
                                      self.decisions.handlers())

    # operations -----------------------------------------------------------

    def reply(self, message: dict[str, Any]) -> bytes:
        """The reply line to one request message (never raises)."""
        try:
            _same_protocol(message)
            op, request = parse_request(message)
            return reply_line(op, call(self.handlers[op.name], request))
        except MlopslabError as e:
            return encode(error_message(e.to_dict()))
        except Exception as e:  # noqa: BLE001 - report, keep serving
            print(f"error in {message.get('op')}: {e!r}", file=sys.stderr, flush=True)
            return encode(error_message({"type": "MlopslabError", "message": repr(e)}))

    def own_handlers(self) -> Handlers:
        api, runs = service_api, runs_api
        return {api.HELLO: self.op_hello, api.PING: self.op_ping, api.CLUSTER: self.op_cluster,
                api.WRITE: self.op_write, api.STOP: self.op_stop,
                runs.SUBMIT_RUN: self.op_submit_run, runs.RESUME_RUN: self.op_resume_run,
                runs.START_TRACKED_RUN: self.runs.track, runs.CREATE_PROJECT: self.runs.create_project,
                runs.IMPORT_RUN: self.runs.import_run,
                runs.CANCEL_RUN: self.op_cancel_run}

    def op_hello(self) -> service_api.Hello:
        return service_api.Hello(protocol=PROTOCOL_VERSION, version=__version__, pid=os.getpid(),
                                 active_runs=len(self.store.active_runs()))

    def op_ping(self) -> ServiceStatus:
        return ServiceStatus(
            pid=os.getpid(), lab=str(self.lab.root), name=self.config.lab.name, version=__version__,
            uptime_s=round(time.time() - self.started_at, 3), commits=self.writer.commits,
            active_runs=len(self.store.active_runs()), ray=self.cluster_info(start=False),
            mirror=self.mirror.status())

    def op_write(self, batch_id: str, events: list[Event]) -> bool:
        fresh = self.writer.write(batch_id, events)
        if any(_ends_run(e) for e in events):
            self.scheduler.wake()  # its resources are free: start the next queued run now
        return fresh

    def op_submit_run(self, spec: RunSpec) -> Run:
        run = self.runs.submit(spec, self.scheduler.admit(spec))  # admit: may reject at once
        self.scheduler.wake()
        return run

    def op_resume_run(self, run_id: str, from_scratch: bool = False) -> Run:
        run = self.runs.resume(run_id, from_scratch)
        self.scheduler.wake()
        return run

    def op_cancel_run(self, run_id: str, actor: str | None = None) -> Run:
        run = self.runs.cancel(run_id, actor)
        self.scheduler.wake()
        return run

    def op_cluster(self) -> ClusterInfo:
        info = self.cluster_info(start=True)
        assert info is not None
        return info

    def op_stop(self, stop_ray: bool = True) -> bool:
        self.stop_ray = stop_ray
        self.stopping.set()
        return True

    def cluster_info(self, start: bool) -> ClusterInfo | None:
        address = self.config.ray.address
        if address:
            return ClusterInfo(address, local=False,
                               token_path=os.environ.get("RAY_AUTH_TOKEN_PATH"))
        if not start:
            return self.local_cluster.running()
        with self._cluster_lock:
            return self.local_cluster.ensure()

    # background work ------------------------------------------------------

    def gpu_roots(self) -> dict[int, GpuOwner]:
        """The processes whose trees own GPU processes: runs' and their steps' workers,
        deployments' replicas."""
        return {**replica_roots(self.deploy.deployments.overview()), **self.watchdog.run_roots()}

    def ingest_spool(self) -> int:
        count = 0
        for path, batch_id, events in spooled(self.lab.spool):
            self.writer.write(batch_id, events)
            path.unlink(missing_ok=True)
            count += 1
        return count

    def watch(self) -> None:
        while not self.stopping.wait(self.config.gpu.watchdog_interval_s):
            with logged("watchdog"):
                if self.watchdog.check():
                    self.scheduler.wake()

    def background(self) -> None:
        m = self.config.monitor
        if m.prometheus_port:
            where = f"http://{m.prometheus_host}:{m.prometheus_port}/metrics"
            try:
                serve_metrics(self.monitor, m.prometheus_host, m.prometheus_port, self.lab.token("metrics"))
                print(f"Prometheus metrics on {where} (bearer token in "
                      f"{self.lab.state / 'metrics.token'})", file=sys.stderr, flush=True)
            except OSError as e:  # a taken port: the lab works on without the exporter
                print(f"cannot serve Prometheus metrics on {where}: {e}", file=sys.stderr, flush=True)
        for name, target in (("scheduler", lambda: self.scheduler.loop(self.stopping)),
                             ("watchdog", self.watch),
                             ("deployments", lambda: self.deploy.loop(self.stopping)),
                             ("serving-health", lambda: self.serving.loop(self.writer, self.stopping)),
                             ("decisions", lambda: self.decisions.loop(self.stopping)),
                             ("drift", lambda: self.drift.loop(self.writer, self.stopping)),
                             ("mlflow mirror", lambda: self.mirror.loop(self.writer, self.stopping)),
                             *self.monitor.threads(self.stopping)):
            threading.Thread(target=target, daemon=True, name=name).start()
        last_spool = 0.0
        while not self.stopping.wait(self.config.service.supervise_interval_s):
            with logged("supervise"):
                self.runs.supervise()
            if time.monotonic() - last_spool > SPOOL_INTERVAL_S:
                with logged("spool"):
                    self.ingest_spool()
                last_spool = time.monotonic()

    def close(self) -> None:
        self.writer.stop()
        if self.stop_ray:
            self.local_cluster.stop()
        self.store.close()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while True:
            try:
                message = read_message(self.rfile)
            except (ValueError, OSError):
                return
            if message is None:
                return
            reply = self.server.service_reply(message)
            try:
                self.wfile.write(reply)
            except OSError:
                return


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, service: LabService) -> None:
        self.service = service
        super().__init__(str(path), _Handler)

    def service_reply(self, message: dict[str, Any]) -> bytes:
        return self.service.reply(message)


OLDER_WRITES = (1, 2)  # protocols whose `write` this service still reads (points as rows)


def _same_protocol(message: dict[str, Any]) -> None:
    spoken = message.get("v", 1)
    if spoken in OLDER_WRITES and message.get("op") == service_api.WRITE.name:
        return  # run processes started by an older mlopslab keep delivering their events
    if spoken != PROTOCOL_VERSION:
        raise ServiceOutdated(
            f"this lab service speaks protocol {PROTOCOL_VERSION} (mlopslab {__version__}); "
            f"the client speaks protocol {spoken}",
            "use one mlopslab for the client and the service; `mlopslab lab stop` stops this one")


def _ends_run(event: Event) -> bool:
    return isinstance(event, RunUpdated) and event.fields.get("status") in FINAL


def serve(lab: Lab) -> int:
    lab.state.mkdir(parents=True, exist_ok=True)
    lock = open(lab.state / "service.lock", "w")  # noqa: SIM115 - held for the process lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another lab service holds the lock; exiting", flush=True)
        return 0
    (lab.state / "service.pid").write_text(str(os.getpid()))
    service = LabService(lab)
    service.writer.start()
    print(f"ingested {service.ingest_spool()} spooled batch(es)", flush=True)
    service.runs.supervise()
    server = _bind(lab, service)
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    threading.Thread(target=server.serve_forever, daemon=True, name="socket").start()
    print(f"lab service {os.getpid()} listening on {lab.socket_path}", flush=True)
    service.background()
    server.shutdown()
    server.server_close()
    lab.socket_path.unlink(missing_ok=True)
    service.close()
    (lab.state / "service.pid").unlink(missing_ok=True)
    print("lab service stopped", flush=True)
    return 0


def _bind(lab: Lab, service: LabService) -> _Server:
    path = lab.socket_path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    old = os.umask(0o077)
    try:
        return _Server(path, service)
    finally:
        os.umask(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lab", required=True)
    args = parser.parse_args(argv)
    return serve(Lab(Path(args.lab).resolve()))


if __name__ == "__main__":
    sys.exit(main())
