"""Sort keys: ``FIELD``, ``-FIELD`` (descending), ``FIELD:asc`` or ``FIELD:desc``."""

from __future__ import annotations

import re

from mlopslab.core.errors import FilterError
from mlopslab.core.filters.fields import COLUMN_TYPES, FIELDS_HINT, Field, unknown_field_hint
from mlopslab.core.filters.lexer import WORD_RE, Scanner, check_encodable, fail
from mlopslab.core.filters.nodes import SortKey

_SORT_SUFFIX_RE = re.compile(r"\s*(?::\s*(asc|desc))?\s*", re.IGNORECASE)
_SORT_HINT = (
    "write FIELD, -FIELD (descending), FIELD:asc or FIELD:desc, "
    "e.g. -metrics.acc or started_at:desc; " + FIELDS_HINT
)


def parse_sort(text: str) -> SortKey:
    """Parse ``FIELD``, ``-FIELD``, ``FIELD:asc`` or ``FIELD:desc``."""
    if not isinstance(text, str):
        raise FilterError(f"sort key must be a string, not {type(text).__name__}")
    check_encodable(text)
    start = len(text) - len(text.lstrip())
    minus = text.startswith("-", start)
    field, end = _sort_field(text, start + 1 if minus else start)
    suffix = _SORT_SUFFIX_RE.fullmatch(text, end)
    if suffix is None:
        raise fail(text, end, "unexpected text after sort field", _SORT_HINT)
    direction = (suffix.group(1) or "").lower()
    if minus and direction:
        raise fail(text, start, "use either a leading '-' or ':asc'/':desc', not both", _SORT_HINT)
    return SortKey(field, minus or direction == "desc")


def _sort_field(text: str, pos: int) -> tuple[Field, int]:
    scanner = Scanner(text)
    scanner.pos = pos
    if pos >= len(text) or not WORD_RE.match(text, pos):
        raise fail(text, pos, "expected a field to sort by", _SORT_HINT)
    token = scanner.word()
    if token.kind == "field":
        return token.value, scanner.pos  # type: ignore[return-value]
    if token.kind == "word" and token.value in COLUMN_TYPES:
        return Field("column", str(token.value)), scanner.pos
    raise fail(text, pos, f"unknown field {token.text!r}", unknown_field_hint(token.text))
