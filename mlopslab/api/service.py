"""Operations on the service itself: hello, ping, cluster, write, stop."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mlopslab.api.operation import JsonObject, NoArgs, Request, read, write


class Hello(BaseModel):
    """What a service says first: its protocol, so a client of another version can tell."""

    protocol: int
    version: str
    pid: int
    active_runs: int


class Write(Request):
    batch_id: str
    events: list[dict[str, Any]]  # the JSON edge: decoded into core/events types by the service


class Stop(Request):
    stop_ray: bool = True


HELLO = read("hello", NoArgs, Hello, "The service's protocol and version (the first call on a connection).")
PING = read("ping", NoArgs, JsonObject, "The service's pid, lab, version, uptime, commits and Ray cluster.")
CLUSTER = read("cluster", NoArgs, JsonObject, "The Ray cluster runs use, started on first use.")
WRITE = write("write", Write, bool,
              "Commit a batch of events; a batch id already committed is not applied again.",
              idempotent=True)
STOP = write("stop", Stop, bool, "Stop the service (and the local Ray cluster unless told not to).",
             idempotent=True)

OPERATIONS = (HELLO, PING, CLUSTER, WRITE, STOP)
