"""A small keep-alive HTTP/1.1 client for the gateway's upstreams (our model servers).

Only what the gateway needs: one request at a time per pooled connection, bodies
with Content-Length. A request on a reused connection that finds it closed (the
server drained it) is retried once on a fresh connection.
"""

from __future__ import annotations

import asyncio
from collections import deque
from urllib.parse import urlsplit

Headers = list[tuple[bytes, bytes]]
HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host"}


class UpstreamError(Exception):
    """The upstream could not be reached or broke the connection."""


class Upstream:
    def __init__(self, url: str, timeout_s: float = 30.0, pool: int = 64) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout_s = timeout_s
        self.pool = pool
        self._idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()

    async def request(self, method: str, target: str, headers: Headers, body: bytes) -> tuple[int, Headers, bytes]:
        head = [f"{method} {target} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n".encode()]
        head += [k + b": " + v + b"\r\n" for k, v in headers if k not in HOP]
        head.append(b"content-length: %d\r\n\r\n" % len(body))
        payload = b"".join(head) + body
        while self._idle:
            conn = self._idle.pop()
            try:
                return await self._exchange(conn, payload)
            except (OSError, asyncio.IncompleteReadError, UpstreamError):
                continue  # a stale keep-alive connection: try the next one
        try:
            conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout_s)
        except (OSError, TimeoutError) as e:
            raise UpstreamError(f"cannot connect to {self.url}: {e}") from e
        try:
            return await self._exchange(conn, payload)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as e:
            raise UpstreamError(f"{self.url} broke the connection: {e!r}") from e

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        payload: bytes) -> tuple[int, Headers, bytes]:
        reader, writer = conn
        writer.write(payload)
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout_s)
        lines = raw[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers, length, close = [], 0, False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key, value = key.strip().lower(), value.strip()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                raise UpstreamError("chunked upstream responses are not supported")
            elif key == b"connection" and value.lower() == b"close":
                close = True
            if key not in HOP:
                headers.append((key, value))
        body = await asyncio.wait_for(reader.readexactly(length), self.timeout_s) if length else b""
        if close or len(self._idle) >= self.pool:
            writer.close()
        else:
            self._idle.append(conn)
        return status, headers, body

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()
