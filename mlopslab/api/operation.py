"""What an operation of the lab service is: a name, a typed request, a reply type,
and whether it may be repeated and whether it writes.

The table of every operation is `mlopslab.api.OPERATIONS`; the service dispatches
from it and the client (mlopslab/client/) is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model


class Request(BaseModel):
    """The arguments of one operation. Unknown fields are an error, not ignored. Each
    request's validator is built when it is first used (`defer_build`): a client that
    imports the whole table sends one or two of them."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class NoArgs(Request):
    """An operation that takes nothing."""


class Envelope(BaseModel):
    """A reply line: {"v", "ok", "result"} or {"v", "ok": false, "error"}."""

    v: int = 1
    ok: bool = False
    result: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, eq=False)
class Operation:
    """One operation the lab service answers.

    idempotent: repeating it after a lost reply is safe (the client retries it once
    when the service died while answering). writes: it changes the lab.
    """

    name: str
    request: type[Request]
    reply: Any  # a type expression: Run, list[Run], bool, ...
    idempotent: bool
    writes: bool
    doc: str

    @cached_property
    def replies(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.reply)

    @cached_property
    def envelope(self) -> type[Envelope]:
        """A whole reply line of this operation, read in one pass (pydantic-core)."""
        return create_model(f"{self.name}_reply", __base__=Envelope, result=(self.reply | None, None))

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"


def read(name: str, request: type[Request], reply: Any, doc: str) -> Operation:
    """A read-only operation: safe to repeat."""
    return Operation(name, request, reply, idempotent=True, writes=False, doc=doc)


def write(name: str, request: type[Request], reply: Any, doc: str, idempotent: bool = False) -> Operation:
    """An operation that changes the lab; idempotent only when a repeat changes nothing more."""
    return Operation(name, request, reply, idempotent=idempotent, writes=True, doc=doc)
