"""A small, typed filter expression language for selecting runs.

Example::

    status = 'finished' and metrics.acc > 0.9 and params.lr < 0.1

Grammar (EBNF; keywords are case-insensitive, whitespace is free between
tokens)::

    filter     = or_expr ;
    or_expr    = and_expr , { "or" , and_expr } ;
    and_expr   = not_expr , { "and" , not_expr } ;
    not_expr   = "not" , not_expr | primary ;
    primary    = "(" , or_expr , ")" | predicate ;
    predicate  = field , ( cmp_op , literal
                         | [ "not" ] , "in" , "(" , literal , { "," , literal } , ")"
                         | "is" , [ "not" ] , "null"
                         | "~" , string ) ;
    cmp_op     = "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" ;
    field      = column | ( "metrics" | "params" ) , "." , name ;
    column     = "id" | "status" | "recipe" | "project" | "user" | "seed"
               | "created_at" | "started_at" | "ended_at" | "duration" ;
    name       = bare_name | "`" , { any char but "`" and "\\" | escape } , "`" ;
    bare_name  = name_char , { name_char } ;     (* letters, digits, _ - / . *)
    literal    = string | number | "true" | "false" ;
    string     = "'" , { char | escape } , "'" | '"' , { char | escape } , '"' ;
    escape     = "\\" , any char ;          (* \\n \\t \\r are control chars *)
    number     = [ "-" ] , ( digits , [ "." , [ digits ] ] | "." , digits ) ,
                 [ ( "e" | "E" ) , [ "+" | "-" ] , digits ] ;

Semantics and types:

* ``~`` is a case-insensitive "contains" test on strings.
* ``a not in (...)`` is sugar for ``not a in (...)``.
* Precedence: ``not`` binds tighter than ``and``, which binds tighter than
  ``or``.  A bare metric/param name is everything after the first dot, so
  ``params.model.depth`` is the param ``model.depth`` and
  ``metrics.val/loss`` the metric ``val/loss``.  Since ``-`` is a name
  character, put spaces around operators after such names.  Use backticks
  for other names: ``metrics.`my metric```.
* id, status, recipe, project, user compare with strings only; seed,
  duration and metrics with numbers only; created_at, started_at and
  ended_at with ISO date/datetime strings (``'2024-05-01'``,
  ``'2024-05-01T12:30:00'``); params with anything (``true``/``false`` only
  with ``=``/``!=``).  ``is null`` / ``is not null`` work on every field.

The parser produces frozen dataclasses (:class:`Compare`, :class:`InList`,
:class:`IsNull`, :class:`Contains`, :class:`And`, :class:`Or`, :class:`Not`)
that validate themselves on construction, so a hand-built tree obeys the same
rules as a parsed one.  :func:`format_filter` prints a tree back as text that
parses to an equal tree.  Errors raise :class:`FilterError`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union

from mlopslab.core.errors import FilterError

__all__ = [
    "And",
    "COLUMN_TYPES",
    "COMPARE_OPS",
    "Compare",
    "Contains",
    "Expr",
    "Field",
    "FilterError",
    "InList",
    "IsNull",
    "Not",
    "Or",
    "SortKey",
    "Value",
    "field_type",
    "format_field",
    "format_filter",
    "format_sort",
    "parse_filter",
    "parse_sort",
]


# --------------------------------------------------------------------------
# Fields, types and the AST
# --------------------------------------------------------------------------

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
_PREFIXES: dict[str, FieldKind] = {"metrics": "metric", "params": "param"}
_MAX_INT = 2**63 - 1
_MAX_DEPTH = 64

_FIELDS_HINT = (
    "valid fields: " + ", ".join(COLUMN_TYPES) + ", metrics.NAME, params.NAME"
    " (quote odd names with backticks: metrics.`my metric`)"
)
_OPS_HINT = (
    "after a field write one of: = == != < <= > >= ~ 'text', in (...), "
    "not in (...), is null, is not null"
)
_VALUE_HINT = "values are 'strings', \"strings\", numbers (1, -0.5, 1e-3), true or false"


class _Node:
    """Base class of AST nodes: ``str(node)`` is the filter text."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_filter(self)  # type: ignore[arg-type]


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
                raise FilterError(f"unknown field {self.name!r}", _FIELDS_HINT)
        elif self.kind in ("metric", "param"):
            if not self.name:
                raise FilterError(f"empty {self.kind} name", _FIELDS_HINT)
        else:
            raise FilterError(f"unknown field kind {self.kind!r}", "use column, metric or param")

    def __str__(self) -> str:
        return format_field(self)


@dataclass(frozen=True)
class Compare(_Node):
    """``field op value`` with ``op`` one of :data:`COMPARE_OPS`."""

    field: Field
    op: str
    value: Value

    def __post_init__(self) -> None:
        if self.op not in COMPARE_OPS:
            raise FilterError(f"unknown operator {self.op!r}", _OPS_HINT)
        _raise_on_problem(_value_problem(self.field, self.op, self.value))


@dataclass(frozen=True)
class InList(_Node):
    """``field in (v1, v2, ...)``; true when the field equals any value."""

    field: Field
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.values, tuple) or not self.values:
            raise FilterError("'in' needs a non-empty tuple of values", _VALUE_HINT)
        for value in self.values:
            _raise_on_problem(_value_problem(self.field, "in", value))


@dataclass(frozen=True)
class IsNull(_Node):
    """``field is null`` (or ``is not null`` when ``negated``)."""

    field: Field
    negated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.field, Field):
            raise FilterError(f"not a field: {self.field!r}", _FIELDS_HINT)


@dataclass(frozen=True)
class Contains(_Node):
    """``field ~ 'text'``: case-insensitive substring test."""

    field: Field
    value: str

    def __post_init__(self) -> None:
        _raise_on_problem(_value_problem(self.field, "~", self.value))


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


def field_type(field: Field) -> FieldType:
    """The value type a field compares with."""
    if field.kind == "column":
        return COLUMN_TYPES[field.name]
    return "number" if field.kind == "metric" else "any"


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


def _value_problem(field: Field, op: str, value: object) -> tuple[str, str] | None:
    """Why ``field op value`` is ill-typed as (message, hint), or None."""
    if not isinstance(field, Field):
        return f"not a field: {field!r}", _FIELDS_HINT
    if not isinstance(value, (str, int, float)):
        return f"unsupported value {value!r}", _VALUE_HINT
    if isinstance(value, float) and not math.isfinite(value):
        return f"number {value!r} is not finite", _VALUE_HINT
    kind = field_type(field)
    if op == "~":
        return _contains_problem(field, kind, value)
    if kind == "any":
        return _param_problem(field, op, value)
    return _typed_problem(field, kind, value)


def _contains_problem(field: Field, kind: FieldType, value: object) -> tuple[str, str] | None:
    if kind not in ("string", "any"):
        example = "created_at >= '2024-05-01'" if kind == "datetime" else f"{field} > 0.5"
        return f"'~' does not apply to {kind} field {field}", f"compare instead, e.g. {example}"
    if not isinstance(value, str):
        return f"'~' needs a string, got {_describe(value)}", f"e.g. {field} ~ 'text'"
    return None


def _param_problem(field: Field, op: str, value: object) -> tuple[str, str] | None:
    if isinstance(value, bool) and op not in ("=", "!=", "in"):
        return (
            f"true/false can only be compared with = or != (got {op!r})",
            f"e.g. {field} = true",
        )
    return None


def _typed_problem(field: Field, kind: FieldType, value: object) -> tuple[str, str] | None:
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


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {format_value(value)}"
    if isinstance(value, (int, float)):
        return f"number {format_value(value)}"
    return f"string {format_value(value)}" if isinstance(value, str) else repr(value)


def _raise_on_problem(problem: tuple[str, str] | None) -> None:
    if problem is not None:
        raise FilterError(problem[0], problem[1])


# --------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------

_BARE_NAME_RE = re.compile(r"[\w\-/.]+")
_STRING_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


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
    if _BARE_NAME_RE.fullmatch(field.name):
        return f"{prefix}.{field.name}"
    quoted = field.name.replace("\\", "\\\\").replace("`", "\\`")
    return f"{prefix}.`{quoted}`"


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


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------

TokenKind = Literal["field", "word", "keyword", "string", "number", "bool", "op", "punct", "eof"]
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null"})
_WORD_RE = re.compile(r"[^\W\d]\w*")
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OP_RE = re.compile(r">=|<=|!=|==|=|<|>|~")
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    pos: int
    value: object = None

    def describe(self) -> str:
        return "end of expression" if self.kind == "eof" else f"token {self.text!r}"


def _fail(text: str, pos: int, what: str, hint: str = "", detail: str = "") -> FilterError:
    """A FilterError whose message quotes ``text`` with a caret at ``pos``.

    The first line reads ``{what} at column N[, {detail}]:``.
    """
    shown = "".join(" " if ch in "\n\r\t\v\f" else ch for ch in text)
    detail = f", {detail}" if detail else ""
    message = f"{what} at column {pos + 1}{detail}:\n  {shown}\n  {' ' * pos}^"
    return FilterError(message, hint, position=pos, expression=text)


def _check_encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _fail(text, exc.start, "invalid character (lone surrogate)") from None


class _Scanner:
    """Turns filter text into tokens; every failure is a FilterError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                out.append(_Token("eof", "", self.pos))
                return out
            out.append(self._next())

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _next(self) -> _Token:
        ch, start = self.text[self.pos], self.pos
        if ch in "'\"":
            value = self._quoted(ch, "string")
            return _Token("string", self.text[start : self.pos], start, value)
        if _NUMBER_RE.match(self.text, self.pos):
            return self._number()
        if _WORD_RE.match(self.text, self.pos):
            return self._word()
        op = _OP_RE.match(self.text, self.pos)
        if op:
            self.pos = op.end()
            return _Token("op", op.group(), start)
        if ch in "(),":
            self.pos += 1
            return _Token("punct", ch, start)
        raise self._unexpected_char(ch)

    def _unexpected_char(self, ch: str) -> FilterError:
        hint = _VALUE_HINT
        if ch == "`":
            hint = "backticks quote metric/param names, e.g. metrics.`my metric`"
        return _fail(self.text, self.pos, f"unexpected character {ch!r}", hint)

    def _quoted(self, quote: str, what: str) -> str:
        """Read a quoted run starting at ``self.pos``; return its unescaped text."""
        start, chars = self.pos, list[str]()
        self.pos += 1
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == quote:
                self.pos += 1
                return "".join(chars)
            if ch == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
                ch = _ESCAPED.get(self.text[self.pos], self.text[self.pos])
            chars.append(ch)
            self.pos += 1
        raise _fail(self.text, start, f"unterminated {what}", f"close it with {quote}")

    def _number(self) -> _Token:
        match = _NUMBER_RE.match(self.text, self.pos)
        assert match is not None
        start, raw = self.pos, match.group()
        self.pos = match.end()
        return _Token("number", raw, start, self._number_value(raw, start))

    def _number_value(self, raw: str, start: int) -> int | float:
        is_float = any(ch in raw for ch in ".eE")
        try:
            value: int | float = float(raw) if is_float else int(raw)
        except ValueError:  # more digits than int() accepts
            value = math.inf
        if is_float and math.isfinite(value) or not is_float and abs(value) <= _MAX_INT:
            return value
        hint = "numbers must be finite; integers must fit in 64 bits (write 1e20 instead)"
        raise _fail(self.text, start, f"number {raw[:30]!r} out of range", hint)

    def _word(self) -> _Token:
        match = _WORD_RE.match(self.text, self.pos)
        assert match is not None
        start, word = self.pos, match.group()
        self.pos = match.end()
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            return self._dotted(word, start)
        lower = word.lower()
        if lower in _KEYWORDS:
            return _Token("keyword", word, start, lower)
        if lower in ("true", "false"):
            return _Token("bool", word, start, lower == "true")
        return _Token("word", word, start, lower)

    def _dotted(self, prefix: str, start: int) -> _Token:
        kind = _PREFIXES.get(prefix.lower())
        if kind is None:
            raise _fail(self.text, start, f"unknown field {prefix + '.'!r}", _prefix_hint(prefix))
        self.pos += 1  # the dot
        name = self._field_name(prefix)
        return _Token("field", self.text[start : self.pos], start, Field(kind, name))

    def _field_name(self, prefix: str) -> str:
        if self.pos < len(self.text) and self.text[self.pos] == "`":
            name = self._quoted("`", "quoted name")
        else:
            match = _BARE_NAME_RE.match(self.text, self.pos)
            name = match.group() if match else ""
            self.pos = match.end() if match else self.pos
        if not name:
            hint = f"e.g. {prefix}.acc or {prefix}.`my name`"
            raise _fail(self.text, self.pos, f"expected a name after '{prefix}.'", hint)
        return name


def _prefix_hint(prefix: str) -> str:
    close = difflib.get_close_matches(prefix.lower(), list(_PREFIXES), n=1)
    if close:
        return f"did you mean {close[0]}.NAME?"
    return "only metrics.NAME and params.NAME have a dot; " + _FIELDS_HINT


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------


class _Parser:
    """Recursive-descent parser over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Scanner(text).tokens()
        self.index = 0
        self.depth = 0

    # -- token helpers -----------------------------------------------------

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def _at_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in words

    def _at_punct(self, char: str) -> bool:
        return self.current.kind == "punct" and self.current.text == char

    def _error(self, token: _Token, what: str, hint: str = "") -> FilterError:
        return _fail(self.text, token.pos, what, hint)

    def _unexpected(self, expected: str, hint: str = "") -> FilterError:
        token = self.current
        what = f"unexpected {token.describe()}"
        return _fail(self.text, token.pos, what, hint, detail=f"expected {expected}")

    def _expect_punct(self, char: str, hint: str = "") -> None:
        if not self._at_punct(char):
            raise self._unexpected(repr(char), hint)
        self._advance()

    # -- grammar -----------------------------------------------------------

    def _at_end(self) -> bool:
        return self.current.kind == "eof"

    def parse(self) -> Expr:
        if self._at_end():
            raise self._error(self.current, "empty filter expression", _FIELDS_HINT)
        expr = self._or()
        if not self._at_end():
            raise self._unexpected("'and', 'or' or the end", "join conditions with and / or")
        return expr

    def _or(self) -> Expr:
        items = [self._and()]
        while self._at_keyword("or"):
            self._advance()
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self) -> Expr:
        items = [self._not()]
        while self._at_keyword("and"):
            self._advance()
            items.append(self._not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _not(self) -> Expr:
        if not self._at_keyword("not"):
            return self._primary()
        self._enter()
        self._advance()
        expr = Not(self._not())
        self.depth -= 1
        return expr

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._error(self.current, "expression nested too deeply",
                              f"use at most {_MAX_DEPTH} levels of parentheses / not")

    def _primary(self) -> Expr:
        if self._at_punct("("):
            self._enter()
            self._advance()
            expr = self._or()
            self._expect_punct(")", "every '(' needs a matching ')'")
            self.depth -= 1
            return expr
        return self._predicate(self._field())

    def _field(self) -> Field:
        token = self.current
        if token.kind == "field":
            self._advance()
            return token.value  # type: ignore[return-value]
        if token.kind == "word" and token.value in COLUMN_TYPES:
            self._advance()
            return Field("column", str(token.value))
        if token.kind == "word":
            hint = _unknown_field_hint(token.text)
            raise self._error(token, f"unknown field {token.text!r}", hint)
        raise self._unexpected("a field", _FIELDS_HINT)

    def _predicate(self, field: Field) -> Expr:
        if self.current.kind == "op":
            return self._comparison(field)
        if self._at_keyword("in"):
            return self._in_list(field)
        if self._at_keyword("not"):
            return self._not_in(field)
        if self._at_keyword("is"):
            return self._is_null(field)
        raise self._unexpected("an operator", _OPS_HINT)

    def _comparison(self, field: Field) -> Expr:
        op = self._advance().text
        token = self._literal()
        value = token.value
        if op == "~":
            self._check(field, "~", token)
            return Contains(field, value)  # type: ignore[arg-type]
        op = "=" if op == "==" else op
        self._check(field, op, token)
        return Compare(field, op, value)  # type: ignore[arg-type]

    def _not_in(self, field: Field) -> Expr:
        self._advance()
        if not self._at_keyword("in"):
            raise self._unexpected("'in' after 'not'", "write: FIELD not in ('a', 'b')")
        return Not(self._in_list(field))

    def _in_list(self, field: Field) -> Expr:
        self._advance()
        self._expect_punct("(", "write: FIELD in ('a', 'b')")
        values = [self._list_item(field)]
        while self._at_punct(","):
            self._advance()
            values.append(self._list_item(field))
        self._expect_punct(")", "separate values with ',' and close the list with ')'")
        return InList(field, tuple(values))

    def _list_item(self, field: Field) -> Value:
        token = self._literal()
        self._check(field, "in", token)
        return token.value  # type: ignore[return-value]

    def _is_null(self, field: Field) -> Expr:
        self._advance()
        negated = self._at_keyword("not")
        if negated:
            self._advance()
        if not self._at_keyword("null"):
            raise self._unexpected("'null'", "write: FIELD is null, or FIELD is not null")
        self._advance()
        return IsNull(field, negated)

    def _literal(self) -> _Token:
        if self.current.kind in ("string", "number", "bool"):
            return self._advance()
        raise self._unexpected("a value", _VALUE_HINT)

    def _check(self, field: Field, op: str, token: _Token) -> None:
        problem = _value_problem(field, op, token.value)
        if problem is not None:
            raise self._error(token, problem[0], problem[1])


def _unknown_field_hint(word: str) -> str:
    lower = word.lower()
    if lower in _PREFIXES:
        return f"write {lower}.NAME, e.g. {lower}.acc"
    close = difflib.get_close_matches(lower, list(COLUMN_TYPES), n=1)
    if close:
        return f"did you mean {close[0]}? " + _FIELDS_HINT
    return f"for a metric or param write metrics.{word} or params.{word}; " + _FIELDS_HINT


def parse_filter(text: str) -> Expr:
    """Parse a filter expression; raise :class:`FilterError` when invalid."""
    if not isinstance(text, str):
        raise FilterError(f"filter must be a string, not {type(text).__name__}")
    _check_encodable(text)
    return _Parser(text).parse()


# --------------------------------------------------------------------------
# Sort keys
# --------------------------------------------------------------------------

_SORT_SUFFIX_RE = re.compile(r"\s*(?::\s*(asc|desc))?\s*", re.IGNORECASE)
_SORT_HINT = (
    "write FIELD, -FIELD (descending), FIELD:asc or FIELD:desc, "
    "e.g. -metrics.acc or started_at:desc; " + _FIELDS_HINT
)


def parse_sort(text: str) -> SortKey:
    """Parse ``FIELD``, ``-FIELD``, ``FIELD:asc`` or ``FIELD:desc``."""
    if not isinstance(text, str):
        raise FilterError(f"sort key must be a string, not {type(text).__name__}")
    _check_encodable(text)
    start = len(text) - len(text.lstrip())
    minus = text.startswith("-", start)
    field, end = _sort_field(text, start + 1 if minus else start)
    suffix = _SORT_SUFFIX_RE.fullmatch(text, end)
    if suffix is None:
        raise _fail(text, end, "unexpected text after sort field", _SORT_HINT)
    direction = (suffix.group(1) or "").lower()
    if minus and direction:
        raise _fail(text, start, "use either a leading '-' or ':asc'/':desc', not both", _SORT_HINT)
    return SortKey(field, minus or direction == "desc")


def _sort_field(text: str, pos: int) -> tuple[Field, int]:
    scanner = _Scanner(text)
    scanner.pos = pos
    if pos >= len(text) or not _WORD_RE.match(text, pos):
        raise _fail(text, pos, "expected a field to sort by", _SORT_HINT)
    token = scanner._word()
    if token.kind == "field":
        return token.value, scanner.pos  # type: ignore[return-value]
    if token.kind == "word" and token.value in COLUMN_TYPES:
        return Field("column", str(token.value)), scanner.pos
    raise _fail(text, pos, f"unknown field {token.text!r}", _unknown_field_hint(token.text))
