"""A fast closed-loop HTTP load generator for the serving benchmarks (asyncio + uvloop).

Each of `concurrency` keep-alive connections sends one pre-encoded POST, reads the
answer (status line, headers, Content-Length body), records the latency and sends
the next, for `seconds`. Python clients such as httpx top out near 1-2k requests/s
on a core; this one does several times that, so the server is what is measured.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def ok(self) -> int:
        return self.codes.get(200, 0)

    @property
    def failed(self) -> int:
        return self.errors + sum(n for c, n in self.codes.items() if c != 200)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1000) if self.latencies else float("nan")


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


async def _worker(host: str, port: int, payload: bytes, until: float, result: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            try:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.latencies.append(time.perf_counter() - start)
            result.codes[status] = result.codes.get(status, 0) + 1
    finally:
        writer.close()


async def _run(host: str, port: int, path: str, body: bytes, concurrency: int, seconds: float) -> Result:
    payload = request_bytes(host, port, path, body)
    result = Result(concurrency, seconds)
    until = time.perf_counter() + seconds
    await asyncio.gather(*[_worker(host, port, payload, until, result) for _ in range(concurrency)])
    return result


def run(host: str, port: int, path: str, body: bytes, concurrency: int, seconds: float) -> Result:
    try:
        import uvloop

        return uvloop.run(_run(host, port, path, body, concurrency, seconds))
    except ImportError:
        return asyncio.run(_run(host, port, path, body, concurrency, seconds))
