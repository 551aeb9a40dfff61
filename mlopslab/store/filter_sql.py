"""Compile filter expressions (:mod:`mlopslab.core.filters`) to DuckDB SQL.

:func:`compile_filter` returns ``(sql, params)``: a WHERE fragment that uses
``?`` placeholders only, plus the values to bind, in placeholder order.  No
user text ever reaches the SQL string: column names come from the fixed
whitelist :data:`COLUMN_SQL`, operators from :data:`OPERATOR_SQL`, and metric
and param *names* are bound as parameters like every value.

Schema assumed (the runs table must be aliased ``r`` in the outer query)::

    runs(id VARCHAR, project VARCHAR, recipe VARCHAR, status VARCHAR,
         user_name VARCHAR, seed BIGINT, created_at TIMESTAMP,
         started_at TIMESTAMP, ended_at TIMESTAMP, ...)
    params(run_id VARCHAR, key VARCHAR, value VARCHAR, num DOUBLE)
        -- one row per (run_id, key); value is the JSON text of the value,
        -- num is the value as a number when it is numeric or bool, else NULL
    metric_last(run_id VARCHAR, key VARCHAR, value DOUBLE)
        -- view: the last value per (run_id, key)

Conventions:

* ``user`` is ``r.user_name``; ``duration`` is
  ``epoch(r.ended_at) - epoch(r.started_at)`` in seconds (NULL unless both
  are set).
* ``metrics.X`` is the last logged value of metric X, NULL when never logged.
* ``params.X`` against a *number* compares ``params.num``.  Against a
  *string* (``=``, ``<``, ``in``, ``~``, ...) it compares the param's text
  form: JSON strings decoded (``"adam"`` -> ``adam``), any other JSON value as
  DuckDB's compact JSON text (``0.1``, ``true``, ``[1,2]``; ``1.50`` reads
  ``1.5``), a value that is not valid JSON as stored.  Against
  ``true``/``false`` it matches JSON booleans only.
  ``params.X is null`` holds when X is missing or JSON ``null``.
* Two-valued logic: every comparison involving a missing value (NULL) is
  false, so ``not P`` selects exactly the runs that ``P`` does not.  Hence
  ``metrics.acc != 1`` skips runs without ``acc`` but
  ``not metrics.acc = 1`` includes them.
* Comparisons follow DuckDB, not IEEE: NaN is larger than every number and
  equal to itself, so a NaN metric satisfies ``metrics.loss > 1``.
* ``~`` is a case-insensitive substring test (``contains(lower(..), lower(?))``);
  ``%`` and ``_`` have no special meaning.
* Date/datetime strings are bound as naive ``datetime`` values; a string with
  a UTC offset is converted to naive UTC (the store keeps naive UTC times).

:func:`compile_sort` returns an ORDER BY fragment (``NULLS LAST``) for a
:class:`~mlopslab.core.filters.SortKey`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlopslab.core.filters import (
    And,
    Compare,
    Contains,
    Expr,
    Field,
    FilterError,
    InList,
    IsNull,
    Not,
    Or,
    SortKey,
    Value,
    field_type,
)

__all__ = ["COLUMN_SQL", "OPERATOR_SQL", "compile_filter", "compile_sort"]

COLUMN_SQL: dict[str, str] = {
    "id": "r.id",
    "status": "r.status",
    "recipe": "r.recipe",
    "project": "r.project",
    "user": "r.user_name",
    "seed": "r.seed",
    "created_at": "r.created_at",
    "started_at": "r.started_at",
    "ended_at": "r.ended_at",
    "duration": "(epoch(r.ended_at) - epoch(r.started_at))",
}
OPERATOR_SQL: dict[str, str] = {
    "=": "=",
    "!=": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}

_METRIC_SQL = "(SELECT m.value FROM metric_last m WHERE m.run_id = r.id AND m.key = ?)"
_PARAM_NUM_SQL = "(SELECT p.num FROM params p WHERE p.run_id = r.id AND p.key = ?)"
_PARAM_TEXT_SQL = (
    "(SELECT CASE WHEN json_valid(p.value) THEN json_extract_string(p.value, '$')"
    " ELSE p.value END FROM params p WHERE p.run_id = r.id AND p.key = ?)"
)
_PARAM_BOOL_SQL = (
    "(SELECT CASE trim(p.value) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
    " FROM params p WHERE p.run_id = r.id AND p.key = ?)"
)

Sql = tuple[str, list[Any]]


def compile_filter(expr: Expr) -> Sql:
    """Compile ``expr`` to ``(where_sql, params)`` for a query over ``runs r``."""
    if isinstance(expr, And):
        return _junction(" AND ", expr.items)
    if isinstance(expr, Or):
        return _junction(" OR ", expr.items)
    if isinstance(expr, Not):
        sql, params = compile_filter(expr.expr)
        return f"(NOT {sql})", params
    return _predicate(expr)


def compile_sort(key: SortKey) -> Sql:
    """Compile a sort key to ``(order_by_sql, params)``, NULLs last.

    Params sort by their numeric value first, then by their text form.
    """
    direction = "DESC" if key.descending else "ASC"
    field = key.field
    if field.kind == "param":
        sql = f"{_PARAM_NUM_SQL} {direction} NULLS LAST, {_PARAM_TEXT_SQL} {direction} NULLS LAST"
        return sql, [field.name, field.name]
    operand, params = _operand(field, None)
    return f"{operand} {direction} NULLS LAST", params


def _junction(word: str, items: tuple[Expr, ...]) -> Sql:
    parts: list[str] = []
    params: list[Any] = []
    for item in items:
        sql, item_params = compile_filter(item)
        parts.append(sql)
        params.extend(item_params)
    return "(" + word.join(parts) + ")", params


def _predicate(expr: Expr) -> Sql:
    if isinstance(expr, Compare):
        return _compare(expr)
    if isinstance(expr, InList):
        return _in_list(expr)
    if isinstance(expr, IsNull):
        operand, params = _operand(expr.field, "")
        return f"({operand} IS {'NOT ' if expr.negated else ''}NULL)", params
    if isinstance(expr, Contains):
        operand, params = _operand(expr.field, expr.value)
        sql = f"COALESCE(contains(lower({operand}), lower(?)), FALSE)"
        return sql, [*params, expr.value]
    raise FilterError(f"cannot compile {expr!r}", "pass a tree from parse_filter()")


def _compare(expr: Compare) -> Sql:
    operand, params = _operand(expr.field, expr.value)
    op = OPERATOR_SQL[expr.op]
    return f"COALESCE({operand} {op} ?, FALSE)", [*params, _bind(expr.field, expr.value)]


def _in_list(expr: InList) -> Sql:
    """``field IN (...)``; params get one IN per value kind, OR-ed together."""
    parts: list[str] = []
    params: list[Any] = []
    for values in _group_by_kind(expr.values):
        operand, operand_params = _operand(expr.field, values[0])
        marks = ", ".join("?" for _ in values)
        parts.append(f"{operand} IN ({marks})")
        params.extend([*operand_params, *(_bind(expr.field, v) for v in values)])
    return f"COALESCE({' OR '.join(parts)}, FALSE)", params


def _group_by_kind(values: tuple[Value, ...]) -> list[list[Value]]:
    groups: dict[type, list[Value]] = {}
    for value in values:
        kind = float if type(value) is int else type(value)
        groups.setdefault(kind, []).append(value)
    return list(groups.values())


def _operand(field: Field, value: Value | None) -> Sql:
    """SQL for the field's value; for params it depends on the value's type."""
    if field.kind == "column":
        if field.name not in COLUMN_SQL:
            raise FilterError(f"unknown field {field.name!r}")
        return COLUMN_SQL[field.name], []
    if field.kind == "metric":
        return _METRIC_SQL, [field.name]
    if isinstance(value, bool):
        return _PARAM_BOOL_SQL, [field.name]
    if isinstance(value, (int, float)):
        return _PARAM_NUM_SQL, [field.name]
    return _PARAM_TEXT_SQL, [field.name]


def _bind(field: Field, value: Value) -> Any:
    """The Python value to bind for ``value`` compared with ``field``."""
    if field_type(field) == "datetime" and isinstance(value, str):
        return _naive_utc(datetime.fromisoformat(value))
    return value


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
