"""Filter text to tokens. Every failure is a FilterError that quotes the text with
a caret under the offending position."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

from mlopslab.core.errors import FilterError
from mlopslab.core.filters.fields import BARE_NAME_RE, FIELDS_HINT, PREFIXES, VALUE_HINT, Field

TokenKind = Literal["field", "word", "keyword", "string", "number", "bool", "op", "punct", "eof"]
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null"})
WORD_RE = re.compile(r"[^\W\d]\w*")
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OP_RE = re.compile(r">=|<=|!=|==|=|<|>|~")
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r"}
_MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    pos: int
    value: object = None

    def describe(self) -> str:
        return "end of expression" if self.kind == "eof" else f"token {self.text!r}"


def fail(text: str, pos: int, what: str, hint: str = "", detail: str = "") -> FilterError:
    """A FilterError whose message quotes ``text`` with a caret at ``pos``.

    The first line reads ``{what} at column N[, {detail}]:``.
    """
    shown = "".join(" " if ch in "\n\r\t\v\f" else ch for ch in text)
    detail = f", {detail}" if detail else ""
    message = f"{what} at column {pos + 1}{detail}:\n  {shown}\n  {' ' * pos}^"
    return FilterError(message, hint, position=pos, expression=text)


def check_encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise fail(text, exc.start, "invalid character (lone surrogate)") from None


class Scanner:
    """Turns filter text into tokens; every failure is a FilterError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                out.append(Token("eof", "", self.pos))
                return out
            out.append(self._next())

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _next(self) -> Token:
        ch, start = self.text[self.pos], self.pos
        if ch in "'\"":
            value = self._quoted(ch, "string")
            return Token("string", self.text[start : self.pos], start, value)
        if _NUMBER_RE.match(self.text, self.pos):
            return self._number()
        if WORD_RE.match(self.text, self.pos):
            return self.word()
        op = _OP_RE.match(self.text, self.pos)
        if op:
            self.pos = op.end()
            return Token("op", op.group(), start)
        if ch in "(),":
            self.pos += 1
            return Token("punct", ch, start)
        raise self._unexpected_char(ch)

    def _unexpected_char(self, ch: str) -> FilterError:
        hint = VALUE_HINT
        if ch == "`":
            hint = "backticks quote metric/param names, e.g. metrics.`my metric`"
        return fail(self.text, self.pos, f"unexpected character {ch!r}", hint)

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
        raise fail(self.text, start, f"unterminated {what}", f"close it with {quote}")

    def _number(self) -> Token:
        match = _NUMBER_RE.match(self.text, self.pos)
        assert match is not None
        start, raw = self.pos, match.group()
        self.pos = match.end()
        return Token("number", raw, start, self._number_value(raw, start))

    def _number_value(self, raw: str, start: int) -> int | float:
        is_float = any(ch in raw for ch in ".eE")
        try:
            value: int | float = float(raw) if is_float else int(raw)
        except ValueError:  # more digits than int() accepts
            value = math.inf
        if is_float and math.isfinite(value) or not is_float and abs(value) <= _MAX_INT:
            return value
        hint = "numbers must be finite; integers must fit in 64 bits (write 1e20 instead)"
        raise fail(self.text, start, f"number {raw[:30]!r} out of range", hint)

    def word(self) -> Token:
        """The word at ``self.pos``: a keyword, true/false, a column or a dotted field."""
        match = WORD_RE.match(self.text, self.pos)
        assert match is not None
        start, word = self.pos, match.group()
        self.pos = match.end()
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            return self._dotted(word, start)
        lower = word.lower()
        if lower in _KEYWORDS:
            return Token("keyword", word, start, lower)
        if lower in ("true", "false"):
            return Token("bool", word, start, lower == "true")
        return Token("word", word, start, lower)

    def _dotted(self, prefix: str, start: int) -> Token:
        kind = PREFIXES.get(prefix.lower())
        if kind is None:
            raise fail(self.text, start, f"unknown field {prefix + '.'!r}", _prefix_hint(prefix))
        self.pos += 1  # the dot
        name = self._field_name(prefix)
        return Token("field", self.text[start : self.pos], start, Field(kind, name))

    def _field_name(self, prefix: str) -> str:
        if self.pos < len(self.text) and self.text[self.pos] == "`":
            name = self._quoted("`", "quoted name")
        else:
            match = BARE_NAME_RE.match(self.text, self.pos)
            name = match.group() if match else ""
            self.pos = match.end() if match else self.pos
        if not name:
            hint = f"e.g. {prefix}.acc or {prefix}.`my name`"
            raise fail(self.text, self.pos, f"expected a name after '{prefix}.'", hint)
        return name


def _prefix_hint(prefix: str) -> str:
    close = difflib.get_close_matches(prefix.lower(), list(PREFIXES), n=1)
    if close:
        return f"did you mean {close[0]}.NAME?"
    return "only metrics.NAME and params.NAME have a dot; " + FIELDS_HINT
