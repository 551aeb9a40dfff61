"""The filter tree: frozen nodes that check themselves when built, so a hand-built
tree obeys the same rules as a parsed one, and print back as filter text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from mlopslab.core.errors import FilterError
from mlopslab.core.filters.fields import (
    COMPARE_OPS,
    FIELDS_HINT,
    OPS_HINT,
    VALUE_HINT,
    Field,
    Value,
    format_field,
    format_value,
    raise_on_problem,
    value_problem,
)


class _Node:
    """Base class of AST nodes: ``str(node)`` is the filter text."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_filter(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Compare(_Node):
    """``field op value`` with ``op`` one of :data:`COMPARE_OPS`."""

    field: Field
    op: str
    value: Value

    def __post_init__(self) -> None:
        if self.op not in COMPARE_OPS:
            raise FilterError(f"unknown operator {self.op!r}", OPS_HINT)
        raise_on_problem(value_problem(self.field, self.op, self.value))


@dataclass(frozen=True)
class InList(_Node):
    """``field in (v1, v2, ...)``; true when the field equals any value."""

    field: Field
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.values, tuple) or not self.values:
            raise FilterError("'in' needs a non-empty tuple of values", VALUE_HINT)
        for value in self.values:
            raise_on_problem(value_problem(self.field, "in", value))


@dataclass(frozen=True)
class IsNull(_Node):
    """``field is null`` (or ``is not null`` when ``negated``)."""

    field: Field
    negated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.field, Field):
            raise FilterError(f"not a field: {self.field!r}", FIELDS_HINT)


@dataclass(frozen=True)
class Contains(_Node):
    """``field ~ 'text'``: case-insensitive substring test."""

    field: Field
    value: str

    def __post_init__(self) -> None:
        raise_on_problem(value_problem(self.field, "~", self.value))


@dataclass(frozen=True)
class And(_Node):
    """All of ``items`` (two or more) hold."""

    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        _check_items("and", self.items)


@dataclass(frozen=True)
class Or(_Node):
    """Any of ``items`` (two or more) holds."""

    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        _check_items("or", self.items)


@dataclass(frozen=True)
class Not(_Node):
    """``expr`` does not hold."""

    expr: Expr

    def __post_init__(self) -> None:
        if not isinstance(self.expr, _EXPR_TYPES):
            raise FilterError(f"'not' needs a filter expression, got {self.expr!r}")


Expr = Union[Compare, InList, IsNull, Contains, And, Or, Not]
_EXPR_TYPES = (Compare, InList, IsNull, Contains, And, Or, Not)


@dataclass(frozen=True)
class SortKey:
    """Sort runs by ``field``; ``str()`` gives ``field`` or ``-field``."""

    field: Field
    descending: bool = False

    def __str__(self) -> str:
        return format_sort(self)


def _check_items(word: str, items: object) -> None:
    if not isinstance(items, tuple) or len(items) < 2:
        raise FilterError(f"{word!r} needs a tuple of at least two expressions")
    if not all(isinstance(item, _EXPR_TYPES) for item in items):
        raise FilterError(f"{word!r} items must be filter expressions")


# -- printing -----------------------------------------------------------------


def format_filter(expr: Expr) -> str:
    """Print ``expr`` as text that :func:`parse_filter` turns back into ``expr``."""
    if isinstance(expr, (And, Or)):
        return _format_junction(expr)
    if isinstance(expr, Not):
        inner = format_filter(expr.expr)
        return f"not ({inner})" if isinstance(expr.expr, (And, Or)) else f"not {inner}"
    return _format_predicate(expr)


def _format_junction(expr: And | Or) -> str:
    word, nested = (" and ", (And, Or)) if isinstance(expr, And) else (" or ", (Or,))
    parts = [
        f"({format_filter(item)})" if isinstance(item, nested) else format_filter(item)
        for item in expr.items
    ]
    return word.join(parts)


def _format_predicate(expr: Expr) -> str:
    field = format_field(expr.field)  # type: ignore[union-attr]
    if isinstance(expr, Compare):
        return f"{field} {expr.op} {format_value(expr.value)}"
    if isinstance(expr, InList):
        return f"{field} in ({', '.join(format_value(v) for v in expr.values)})"
    if isinstance(expr, IsNull):
        return f"{field} is not null" if expr.negated else f"{field} is null"
    if isinstance(expr, Contains):
        return f"{field} ~ {format_value(expr.value)}"
    raise FilterError(f"not a filter expression: {expr!r}")


def format_sort(key: SortKey) -> str:
    """A sort key as text that :func:`parse_sort` accepts."""
    return ("-" if key.descending else "") + format_field(key.field)
