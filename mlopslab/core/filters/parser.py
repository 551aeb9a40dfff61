"""Filter text to a filter tree: a recursive-descent parser over the lexer's tokens,
one method per rule of the grammar in the package docstring."""

from __future__ import annotations

from mlopslab.core.errors import FilterError
from mlopslab.core.filters.fields import (
    COLUMN_TYPES,
    FIELDS_HINT,
    OPS_HINT,
    VALUE_HINT,
    Field,
    Value,
    unknown_field_hint,
    value_problem,
)
from mlopslab.core.filters.lexer import Scanner, Token, check_encodable, fail
from mlopslab.core.filters.nodes import And, Compare, Contains, Expr, InList, IsNull, Not, Or

_MAX_DEPTH = 64


def parse_filter(text: str) -> Expr:
    """Parse a filter expression; raise :class:`FilterError` when invalid."""
    if not isinstance(text, str):
        raise FilterError(f"filter must be a string, not {type(text).__name__}")
    check_encodable(text)
    return _Parser(text).parse()


class _Parser:
    """Recursive-descent parser over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Scanner(text).tokens()
        self.index = 0
        self.depth = 0

    # -- token helpers -----------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def _at_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in words

    def _at_punct(self, char: str) -> bool:
        return self.current.kind == "punct" and self.current.text == char

    def _error(self, token: Token, what: str, hint: str = "") -> FilterError:
        return fail(self.text, token.pos, what, hint)

    def _unexpected(self, expected: str, hint: str = "") -> FilterError:
        token = self.current
        what = f"unexpected {token.describe()}"
        return fail(self.text, token.pos, what, hint, detail=f"expected {expected}")

    def _expect_punct(self, char: str, hint: str = "") -> None:
        if not self._at_punct(char):
            raise self._unexpected(repr(char), hint)
        self._advance()

    # -- grammar -----------------------------------------------------------

    def _at_end(self) -> bool:
        return self.current.kind == "eof"

    def parse(self) -> Expr:
        if self._at_end():
            raise self._error(self.current, "empty filter expression", FIELDS_HINT)
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
            hint = unknown_field_hint(token.text)
            raise self._error(token, f"unknown field {token.text!r}", hint)
        raise self._unexpected("a field", FIELDS_HINT)

    def _predicate(self, field: Field) -> Expr:
        if self.current.kind == "op":
            return self._comparison(field)
        if self._at_keyword("in"):
            return self._in_list(field)
        if self._at_keyword("not"):
            return self._not_in(field)
        if self._at_keyword("is"):
            return self._is_null(field)
        raise self._unexpected("an operator", OPS_HINT)

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

    def _literal(self) -> Token:
        if self.current.kind in ("string", "number", "bool"):
            return self._advance()
        raise self._unexpected("a value", VALUE_HINT)

    def _check(self, field: Field, op: str, token: Token) -> None:
        problem = value_problem(field, op, token.value)
        if problem is not None:
            raise self._error(token, problem[0], problem[1])
