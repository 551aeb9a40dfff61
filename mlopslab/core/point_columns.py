"""Metric points as columns: how the event sinks of steps and scripts ship them.

A `log_metric` call appends one number to each of four typed arrays (no Python
object per point), and a batch crosses the socket as those arrays' bytes, base64 in
the `metrics` event's `points` (docs/performance.md): about 28 bytes a point
instead of about 60 of JSON text, and the service turns them into Arrow columns
without a Python loop. On the wire:

    "points": {"n": N, "keys": ["loss", "acc"], "key": B64(uint32 LE), "step": B64(int64 LE),
               "ts": B64(float64 LE, epoch seconds), "value": B64(float64 LE, NaN: no value)}

The older form, a list of [key, step, ts, value] rows, is read too.
"""

from __future__ import annotations

import base64
import binascii
import math
import sys
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlopslab.core.errors import EventError

if TYPE_CHECKING:
    Ints = array[int]
    Floats = array[float]
else:  # array is not subscriptable at run time before Python 3.12, and pydantic reads these
    Ints = Floats = array

_TYPECODES = {"key": "I", "step": "q", "ts": "d", "value": "d"}


@dataclass(frozen=True, slots=True)
class PointColumns:
    """N points: `keys[key_index[i]]`, `steps[i]`, `stamps[i]` (epoch s), `values[i]` (NaN: none)."""

    keys: tuple[str, ...]
    key_index: Ints
    steps: Ints
    stamps: Floats
    values: Floats

    def __len__(self) -> int:
        return len(self.steps)

    def rows(self) -> Iterator[list[Any]]:
        """The points as [key, step, ts, value or None] rows (the older wire form)."""
        for k, step, ts, value in zip(self.key_index, self.steps, self.stamps, self.values, strict=True):
            yield [self.keys[k], step, ts, None if math.isnan(value) else value]

    def to_json(self) -> dict[str, Any]:
        columns: dict[str, array[Any]] = {"key": self.key_index, "step": self.steps, "ts": self.stamps,
                                          "value": self.values}
        return {"n": len(self), "keys": list(self.keys),
                **{name: _encode(column) for name, column in columns.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PointColumns:
        """The columns `data` describes; EventError when they do not fit together."""
        n, keys = data.get("n"), data.get("keys")
        if not isinstance(n, int) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise EventError("metric points as columns need an integer n and a list of key names",
                             f"got n={type(n).__name__}, keys={type(keys).__name__}")
        found = {name: _decode(data.get(name), code, name) for name, code in _TYPECODES.items()}
        if any(len(column) != n for column in found.values()):
            raise EventError(f"metric point columns are not all {n} long",
                             ", ".join(f"{name}: {len(c)}" for name, c in found.items()))
        if n and max(found["key"]) >= len(keys):
            raise EventError("a metric point names a key index past its keys list",
                             f"{len(keys)} keys, largest index {max(found['key'])}")
        return cls(tuple(keys), found["key"], found["step"], found["ts"], found["value"])


def _encode(column: array[Any]) -> str:
    if sys.byteorder == "big":
        column = array(column.typecode, column)
        column.byteswap()
    return base64.b64encode(column.tobytes()).decode("ascii")


def _decode(text: Any, code: str, name: str) -> array[Any]:
    if not isinstance(text, str):
        raise EventError(f"metric point column {name!r} must be base64 text", f"got {type(text).__name__}")
    column = array(code)
    try:
        column.frombytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as e:
        raise EventError(f"metric point column {name!r} is not base64 of {column.itemsize}-byte numbers",
                         str(e)) from e
    if sys.byteorder == "big":
        column.byteswap()
    return column
