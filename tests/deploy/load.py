"""A continuous load generator: threads posting inference requests until stopped."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np


def body(x: np.ndarray) -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]}


@dataclass
class Load:
    url: str  # .../v2/models/NAME/infer
    x: np.ndarray
    threads: int = 2
    versions: list[tuple[float, str]] = field(default_factory=list)  # (time, model_version) per success
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        self.wait_for(20)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(30)

    def _run(self) -> None:
        payload = body(self.x)
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    reply = client.post(self.url, json=payload)
                except httpx.HTTPError as e:
                    self.failures.append(repr(e))
                    continue
                if reply.status_code == 200:
                    self.versions.append((time.monotonic(), reply.json()["model_version"]))
                else:
                    self.failures.append(f"{reply.status_code} {reply.text[:200]}")

    def wait_for(self, count: int, version: str | None = None, timeout: float = 30) -> None:
        """Until `count` more successes (of `version`, if given) have come back."""
        start = sum(1 for _, v in self.versions if version in (None, v))
        deadline = time.monotonic() + timeout
        while sum(1 for _, v in self.versions if version in (None, v)) < start + count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"load: not {count} answers from {version} in {timeout} s: "
                                   f"{self.summary()}")
            time.sleep(0.01)

    def summary(self) -> dict[str, object]:
        return {"answers": dict(Counter(v for _, v in self.versions)), "failures": self.failures[:5],
                "failed": len(self.failures)}
