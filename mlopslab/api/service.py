"""Operations on the service itself: hello, ping, cluster, write, stop."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, PlainValidator

from mlopslab.api.operation import NoArgs, Request, read, write
from mlopslab.core.cluster import ClusterInfo
from mlopslab.core.events import EVENT_TYPES, Event, event_from_json, event_to_json
from mlopslab.core.service_status import ServiceStatus


class Hello(BaseModel):
    """What a service says first: its protocol, so a client of another version can tell."""

    protocol: int
    version: str
    pid: int
    active_runs: int


def _event(value: Any) -> Event:
    """A typed event as given, or one read from its wire dict (EventError if it cannot be)."""
    return value if isinstance(value, EVENT_TYPES) else event_from_json(value)


WireEvent = Annotated[Event, PlainValidator(_event), PlainSerializer(event_to_json)]
"""An event of core/events.py; on the wire, the dict `event_to_json` makes (the spool's format)."""


class Write(Request):
    batch_id: str
    events: list[WireEvent]


class Stop(Request):
    stop_ray: bool = True


HELLO = read("hello", NoArgs, Hello, "The service's protocol and version (the first call on a connection).")
PING = read("ping", NoArgs, ServiceStatus, "The service's pid, lab, version, uptime, commits and Ray cluster.")
CLUSTER = read("cluster", NoArgs, ClusterInfo, "The Ray cluster runs use, started on first use.")
WRITE = write("write", Write, bool,
              "Commit a batch of events; a batch id already committed is not applied again.",
              idempotent=True)
STOP = write("stop", Stop, bool, "Stop the service (and the local Ray cluster unless told not to).",
             idempotent=True)

OPERATIONS = (HELLO, PING, CLUSTER, WRITE, STOP)
