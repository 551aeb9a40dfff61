"""The fields a filter names, the values each compares with, and how both are written.

A field is a run column, a metric or a param; :func:`value_problem` says why a value
does not fit a field (as a message and a hint), for the nodes and the parser alike.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union

from mlopslab.core.errors import FilterError

FieldKind = Literal["column", "metric", "param"]
FieldType = Literal["string", "number", "datetime", "any"]
Value = Union[str, int, float, bool]

COLUMN_TYPES: dict[str, FieldType] = {
    "id": "string",
    "status": "string",
    "recipe": "string",
    "project": "string",
    "user": "string",
    "seed": "number",
    "created_at": "datetime",
    "started_at": "datetime",
    "ended_at": "datetime",
    "duration": "number",
}
COMPARE_OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=")
PREFIXES: dict[str, FieldKind] = {"metrics": "metric", "params": "param"}

FIELDS_HINT = (
    "valid fields: " + ", ".join(COLUMN_TYPES) + ", metrics.NAME, params.NAME"
    " (quote odd names with backticks: metrics.`my metric`)"
)
OPS_HINT = (
    "after a field write one of: = == != < <= > >= ~ 'text', in (...), "
    "not in (...), is null, is not null"
)
VALUE_HINT = "values are 'strings', \"strings\", numbers (1, -0.5, 1e-3), true or false"

BARE_NAME_RE = re.compile(r"[\w\-/.]+")
_STRING_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


@dataclass(frozen=True)
class Field:
    """A run column (``kind='column'``), a metric or a param."""

    kind: FieldKind
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise FilterError(f"field name must be a string, not {self.name!r}")
        if self.kind == "column":
            if self.name not in COLUMN_TYPES:
                raise FilterError(f"unknown field {self.name!r}", FIELDS_HINT)
        elif self.kind in ("metric", "param"):
            if not self.name:
                raise FilterError(f"empty {self.kind} name", FIELDS_HINT)
        else:
            raise FilterError(f"unknown field kind {self.kind!r}", "use column, metric or param")

    def __str__(self) -> str:
        return format_field(self)


def field_type(field: Field) -> FieldType:
    """The value type a field compares with."""
    if field.kind == "column":
        return COLUMN_TYPES[field.name]
    return "number" if field.kind == "metric" else "any"


def unknown_field_hint(word: str) -> str:
    """What to write instead of ``word``, which names no field."""
    lower = word.lower()
    if lower in PREFIXES:
        return f"write {lower}.NAME, e.g. {lower}.acc"
    close = difflib.get_close_matches(lower, list(COLUMN_TYPES), n=1)
    if close:
        return f"did you mean {close[0]}? " + FIELDS_HINT
    return f"for a metric or param write metrics.{word} or params.{word}; " + FIELDS_HINT


# -- writing ------------------------------------------------------------------


def format_value(value: Value) -> str:
    """A literal as filter text (strings single-quoted, escaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + "".join(_STRING_ESCAPES.get(ch, ch) for ch in value) + "'"


def format_field(field: Field) -> str:
    """A field as filter text, backtick-quoting odd metric/param names."""
    if field.kind == "column":
        return field.name
    prefix = "metrics" if field.kind == "metric" else "params"
    if BARE_NAME_RE.fullmatch(field.name):
        return f"{prefix}.{field.name}"
    quoted = field.name.replace("\\", "\\\\").replace("`", "\\`")
    return f"{prefix}.`{quoted}`"


# -- type checks --------------------------------------------------------------

Problem = tuple[str, str] | None
"""Why a value does not fit, as (message, hint); None when it fits."""


def value_problem(field: Field, op: str, value: object) -> Problem:
    """Why ``field op value`` is ill-typed as (message, hint), or None."""
    if not isinstance(field, Field):
        return f"not a field: {field!r}", FIELDS_HINT
    if not isinstance(value, (str, int, float)):
        return f"unsupported value {value!r}", VALUE_HINT
    if isinstance(value, float) and not math.isfinite(value):
        return f"number {value!r} is not finite", VALUE_HINT
    kind = field_type(field)
    if op == "~":
        return _contains_problem(field, kind, value)
    if kind == "any":
        return _param_problem(field, op, value)
    return _typed_problem(field, kind, value)


def raise_on_problem(problem: Problem) -> None:
    if problem is not None:
        raise FilterError(problem[0], problem[1])


def _contains_problem(field: Field, kind: FieldType, value: object) -> Problem:
    if kind not in ("string", "any"):
        example = "created_at >= '2024-05-01'" if kind == "datetime" else f"{field} > 0.5"
        return f"'~' does not apply to {kind} field {field}", f"compare instead, e.g. {example}"
    if not isinstance(value, str):
        return f"'~' needs a string, got {_describe(value)}", f"e.g. {field} ~ 'text'"
    return None


def _param_problem(field: Field, op: str, value: object) -> Problem:
    if isinstance(value, bool) and op not in ("=", "!=", "in"):
        return (
            f"true/false can only be compared with = or != (got {op!r})",
            f"e.g. {field} = true",
        )
    return None


def _typed_problem(field: Field, kind: FieldType, value: object) -> Problem:
    if kind == "string" and not isinstance(value, str):
        example = format_value(format_value(value))  # type: ignore[arg-type]
        return f"field {field} compares with strings, got {_describe(value)}", (
            f"quote the value, e.g. {field} = {example}"
        )
    if kind == "number" and not _is_number(value):
        return f"field {field} compares with numbers, got {_describe(value)}", (
            f"e.g. {field} > 0.5"
        )
    if kind == "datetime" and not _is_iso_datetime(value):
        return f"field {field} needs an ISO date/datetime string, got {_describe(value)}", (
            f"e.g. {field} >= '2024-05-01' or {field} < '2024-05-01T12:30:00'"
        )
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_iso_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {format_value(value)}"
    if isinstance(value, (int, float)):
        return f"number {format_value(value)}"
    return f"string {format_value(value)}" if isinstance(value, str) else repr(value)
