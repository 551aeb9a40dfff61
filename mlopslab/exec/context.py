"""What a step function sees: the run context `ctx`, and the event sink behind it.

Metric points and log lines are buffered and sent to the lab service in batches by a
background thread (every FLUSH_S seconds, at once when MAX_BUFFER points wait, and
when the step ends), never one request per point: logging a point only appends a
number to each of four typed arrays (core/point_columns.py), unless MAX_BEHIND
points are waiting. A batch that cannot reach the service is spooled on disk.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mlopslab import artifacts
from mlopslab.core.events import ArtifactRecorded, Event, LogsWritten, MetricsLogged
from mlopslab.core.point_columns import Floats, Ints, PointColumns
from mlopslab.core.run import RunResources
from mlopslab.exec.cache import StepRecord

if TYPE_CHECKING:
    from mlopslab.client import LabClient

FLUSH_S = 0.25
MAX_BUFFER = 20_000  # points that wake the shipping thread at once
MAX_BEHIND = 500_000  # points beyond which the caller waits for a flush (the service is that far behind)


class EventSink:
    """Buffers metric points and log lines of one run and ships them in batches."""

    def __init__(self, client: LabClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._keys: list[str] = []  # every key logged, in order: a point holds its index
        self._key_ids: dict[str, int] = {}
        self._columns = _empty_columns()
        self._lines: list[list[Any]] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="event-sink")
        self._thread.start()

    def metric(self, key: str, step: int, value: float | None) -> None:
        """One point; a value of None (or NaN) is stored as no value."""
        with self._lock:
            kid = self._key_ids.get(key)
            if kid is None:
                kid = self._key_ids[key] = len(self._keys)
                self._keys.append(key)
            index, steps, stamps, values = self._columns
            index.append(kid)
            steps.append(step)
            stamps.append(time.time())
            values.append(math.nan if value is None else value)
            waiting = len(steps)
        if waiting >= MAX_BEHIND:
            self.flush()
        elif waiting >= MAX_BUFFER:
            self._wake.set()

    def log(self, stream: str, line: str) -> None:
        with self._lock:
            self._lines.append([time.time(), stream, line])

    def send(self, events: Sequence[Event]) -> None:
        """Send other events right away (after what is buffered, to keep order)."""
        self.flush(extra=events)

    def flush(self, extra: Sequence[Event] = ()) -> None:
        with self._send_lock:
            with self._lock:
                columns, self._columns = self._columns, _empty_columns()
                keys = tuple(self._keys)
                lines, self._lines = self._lines, []
            events: list[Event] = []
            if columns[1]:
                events.append(MetricsLogged(run_id=self.run_id, points=PointColumns(keys, *columns)))
            if lines:
                events.append(LogsWritten(run_id=self.run_id, lines=lines))
            events += extra
            if events:
                self.client.write(events)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except Exception:  # noqa: BLE001, S110 - the final flush reports errors
                pass


def _empty_columns() -> tuple[Ints, Ints, Floats, Floats]:
    return array("I"), array("q"), array("d"), array("d")


@dataclass
class RunContext:
    """The `ctx` argument of every step function (documented in docs/recipes.md)."""

    run_id: str
    step: str
    params: Mapping[str, Any]
    seed: int
    data: Mapping[str, Path]
    inputs: Mapping[str, Any]
    workdir: Path
    gpu_ids: list[Any]
    model_name: str
    sink: EventSink
    artifact_root: Path
    resources: RunResources = field(default_factory=RunResources)
    record: StepRecord = field(default_factory=StepRecord)
    _counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.params = MappingProxyType(dict(self.params))
        self.data = MappingProxyType(dict(self.data))
        self.inputs = MappingProxyType(dict(self.inputs))

    @property
    def device(self) -> str:
        if not self.gpu_ids:
            return "cpu"
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"

    @property
    def gpu_memory_limit(self) -> int | None:
        """The run's GPU memory limit in bytes (None: no limit)."""
        from mlopslab.exec.gpu_limits import limit_bytes

        return limit_bytes(self.resources)

    def onnx_providers(self) -> list[Any]:
        """ONNX Runtime providers for this step, CUDA capped at the GPU memory limit."""
        from mlopslab.exec.gpu_limits import onnx_providers

        return onnx_providers(self.gpu_ids, self.gpu_memory_limit)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        value = float(value)
        if step is None:
            step = self._counters.get(key, 0)
        self._counters[key] = int(step) + 1
        self.record.metrics.append([key, int(step), value if math.isfinite(value) else None])
        self.sink.metric(key, int(step), value if math.isfinite(value) else None)

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    def save_artifact(self, name: str, src: bytes | str | Path, kind: str = "artifact") -> str:
        if isinstance(src, Path):
            digest, size = artifacts.put_file(self.artifact_root, src)
        else:
            data = src.encode() if isinstance(src, str) else bytes(src)
            digest, size = artifacts.put_bytes(self.artifact_root, data)
        entry = {"name": name, "sha256": digest, "size": size, "kind": kind}
        self.record.artifacts.append(entry)
        self.sink.send([artifact_event(self.run_id, self.step, entry)])
        return digest

    def save_model(self, src: bytes | str | Path, name: str | None = None) -> str:
        return self.save_artifact(name or self.model_name, src, kind="model")


def artifact_event(run_id: str, step: str, entry: dict[str, Any]) -> ArtifactRecorded:
    return ArtifactRecorded(run_id=run_id, step=step, name=entry["name"], sha256=entry["sha256"],
                            size=entry["size"], artifact_kind=entry["kind"], ts=time.time())


class LineTee(io.TextIOBase):
    """A text stream that passes writes on and sends each complete line to the sink."""

    def __init__(self, sink: EventSink, stream: str, passthrough: Any) -> None:
        self.sink, self.stream, self.passthrough = sink, stream, passthrough
        self._partial = ""

    def write(self, text: str) -> int:
        if self.passthrough is not None:
            self.passthrough.write(text)
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.sink.log(self.stream, line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self.sink.log(self.stream, self._partial)
            self._partial = ""
        if self.passthrough is not None:
            self.passthrough.flush()


class SinkHandler(logging.Handler):
    def __init__(self, sink: EventSink) -> None:
        super().__init__()
        self.sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.log("log", self.format(record))
