"""Tests of the run filter language parser (mlopslab.core.filters)."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlopslab.core.filters import (
    COLUMN_TYPES,
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
    format_field,
    format_filter,
    format_sort,
    parse_filter,
    parse_sort,
)


def col(name: str) -> Field:
    return Field("column", name)


def met(name: str) -> Field:
    return Field("metric", name)


def par(name: str) -> Field:
    return Field("param", name)


def parse_error(text: str) -> FilterError:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    return info.value


# --------------------------------------------------------------------------
# Valid expressions
# --------------------------------------------------------------------------


def test_example_from_the_docs() -> None:
    expr = parse_filter("status = 'finished' and metrics.acc > 0.9 and params.lr < 0.1")
    assert expr == And(
        (
            Compare(col("status"), "=", "finished"),
            Compare(met("acc"), ">", 0.9),
            Compare(par("lr"), "<", 0.1),
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed = 1", Compare(col("seed"), "=", 1)),
        ("seed == 1", Compare(col("seed"), "=", 1)),
        ("seed != 1", Compare(col("seed"), "!=", 1)),
        ("seed<1", Compare(col("seed"), "<", 1)),
        ("seed<=1", Compare(col("seed"), "<=", 1)),
        ("seed>-1", Compare(col("seed"), ">", -1)),
        ("seed >= 1e3", Compare(col("seed"), ">=", 1000.0)),
        ("duration < 1e-3", Compare(col("duration"), "<", 0.001)),
        ("duration > -0.5", Compare(col("duration"), ">", -0.5)),
        ("duration > .5", Compare(col("duration"), ">", 0.5)),
        ("duration > 5.", Compare(col("duration"), ">", 5.0)),
        ("user = 'ada'", Compare(col("user"), "=", "ada")),
        ('id = "r-1"', Compare(col("id"), "=", "r-1")),
        ("recipe ~ 'MLP'", Contains(col("recipe"), "MLP")),
        ("project in ('a', \"b\")", InList(col("project"), ("a", "b"))),
        ("seed in (1, 2.5)", InList(col("seed"), (1, 2.5))),
        ("seed not in (1)", Not(InList(col("seed"), (1,)))),
        ("ended_at is null", IsNull(col("ended_at"))),
        ("ended_at is not null", IsNull(col("ended_at"), negated=True)),
        ("created_at >= '2024-05-01'", Compare(col("created_at"), ">=", "2024-05-01")),
        ("started_at < '2024-05-01T12:30'", Compare(col("started_at"), "<", "2024-05-01T12:30")),
        ("ended_at < '2024-05-01 12:30+02'", Compare(col("ended_at"), "<", "2024-05-01 12:30+02")),
        ("metrics.val/loss < 0.2", Compare(met("val/loss"), "<", 0.2)),
        ("metrics.f1-macro > 0", Compare(met("f1-macro"), ">", 0)),
        ("params.model.depth = 3", Compare(par("model.depth"), "=", 3)),
        ("params.opt = 'adam'", Compare(par("opt"), "=", "adam")),
        ("params.flag = true", Compare(par("flag"), "=", True)),
        ("params.flag != FALSE", Compare(par("flag"), "!=", False)),
        ("params.x in ('a', 1, true)", InList(par("x"), ("a", 1, True))),
        ("params.x is null", IsNull(par("x"))),
        ("params.opt ~ 'ad'", Contains(par("opt"), "ad")),
        ("metrics.acc is null", IsNull(met("acc"))),
        ("metrics.`my metric` > 1", Compare(met("my metric"), ">", 1)),
        ("metrics.`a\\`b\\\\c` > 1", Compare(met("a`b\\c"), ">", 1)),
        ("params.`x') OR 1=1 --` = 1", Compare(par("x') OR 1=1 --"), "=", 1)),
        ("metrics.ünïcode > 1", Compare(met("ünïcode"), ">", 1)),
    ],
)
def test_parses_predicates(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r"status = 'it\'s'", "it's"),
        (r'status = "say \"hi\""', 'say "hi"'),
        (r"status = 'a\\b'", "a\\b"),
        (r"status = 'line\nnext\ttab'", "line\nnext\ttab"),
        (r"status = '\q'", "q"),
        ("status = ''", ""),
        ("status = 'naïve ☃'", "naïve ☃"),
    ],
)
def test_string_escapes(text: str, value: str) -> None:
    assert parse_filter(text) == Compare(col("status"), "=", value)


def test_int_and_float_literals_keep_their_type() -> None:
    assert type(parse_filter("seed = 3").value) is int  # type: ignore[union-attr]
    assert type(parse_filter("seed = 3.0").value) is float  # type: ignore[union-attr]
    assert parse_filter("params.b = true").value is True  # type: ignore[union-attr]


def test_keywords_and_columns_are_case_insensitive() -> None:
    text = "STATUS = 'x' AnD NoT Metrics.acc IS NOT NULL Or SEED IN (1)"
    assert parse_filter(text) == parse_filter(
        "status = 'x' and not metrics.acc is not null or seed in (1)"
    )


def test_metric_names_are_case_sensitive() -> None:
    assert parse_filter("metrics.ACC > 1") == Compare(met("ACC"), ">", 1)


def test_whitespace_and_newlines_are_free() -> None:
    assert parse_filter("\n  seed\t=\n1  ") == Compare(col("seed"), "=", 1)


# --------------------------------------------------------------------------
# Precedence
# --------------------------------------------------------------------------

A = Compare(col("seed"), "=", 1)
B = Compare(col("seed"), "=", 2)
C = Compare(col("seed"), "=", 3)


def test_and_binds_tighter_than_or() -> None:
    assert parse_filter("seed = 1 or seed = 2 and seed = 3") == Or((A, And((B, C))))
    assert parse_filter("seed = 1 and seed = 2 or seed = 3") == Or((And((A, B)), C))


def test_not_binds_tighter_than_and() -> None:
    assert parse_filter("not seed = 1 and seed = 2") == And((Not(A), B))
    assert parse_filter("not not seed = 1") == Not(Not(A))


def test_parentheses_override_precedence() -> None:
    assert parse_filter("(seed = 1 or seed = 2) and seed = 3") == And((Or((A, B)), C))
    assert parse_filter("not (seed = 1 or seed = 2)") == Not(Or((A, B)))
    assert parse_filter("((seed = 1))") == A


def test_chains_are_flat_but_parentheses_nest() -> None:
    assert parse_filter("seed = 1 and seed = 2 and seed = 3") == And((A, B, C))
    assert parse_filter("(seed = 1 and seed = 2) and seed = 3") == And((And((A, B)), C))


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_error_quotes_expression_with_caret() -> None:
    error = parse_error("status = 'a' and xx")
    lines = error.message.splitlines()
    assert lines[0].startswith("unknown field 'xx' at column 18")
    assert lines[1] == "  status = 'a' and xx"
    assert lines[2] == "  " + " " * 17 + "^"
    assert error.position == 17
    assert error.expression == "status = 'a' and xx"
    assert "status" in error.hint and "metrics.NAME" in error.hint
    assert isinstance(error, ValueError)
    assert str(error).endswith("hint: " + error.hint)


def test_unexpected_token_position() -> None:
    error = parse_error("status = 'a' xx")
    assert error.message.startswith("unexpected token 'xx' at column 14")
    assert error.message.splitlines()[2].index("^") == 2 + 13


def test_unknown_field_lists_valid_fields() -> None:
    error = parse_error("accuracy > 0.9")
    for name in COLUMN_TYPES:
        assert name in error.hint
    assert "metrics.accuracy" in error.hint


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("", "empty filter expression", 1),
        ("   ", "empty filter expression", 4),
        ("status", "unexpected end of expression", 7),
        ("status = ", "expected a value", 10),
        ("status = 'a' and", "expected a field", 17),
        ("(status = 'a'", "expected ')'", 14),
        ("status = 'a')", "unexpected token ')'", 13),
        ("status 'a'", "expected an operator", 8),
        ("status = = 'a'", "expected a value", 10),
        ("status = 'abc", "unterminated string", 10),
        ("metrics.`abc > 1", "unterminated quoted name", 9),
        ("metrics. > 1", "expected a name after 'metrics.'", 9),
        ("metrics > 1", "unknown field 'metrics'", 1),
        ("metric.acc > 1", "unknown field 'metric.'", 1),
        ("foo.bar = 1", "unknown field 'foo.'", 1),
        ("status = 'a' & seed = 1", "unexpected character '&'", 14),
        ("`x` = 1", "unexpected character '`'", 1),
        ("seed in ()", "expected a value", 10),
        ("seed in (1,)", "expected a value", 12),
        ("seed in 1", "expected '('", 9),
        ("seed not = 1", "expected 'in' after 'not'", 10),
        ("seed is 1", "expected 'null'", 9),
        ("seed = 99999999999999999999", "out of range", 8),
        ("duration = 1e999", "out of range", 12),
        ("status = 'x' status = 'y'", "expected 'and', 'or' or the end", 14),
        ("not", "expected a field", 4),
        ("status = null", "expected a value", 10),
    ],
)
def test_syntax_errors(text: str, message: str, column: int) -> None:
    error = parse_error(text)
    assert message in error.message
    assert f"at column {column}" in error.message
    assert error.position == column - 1
    assert error.message.splitlines()[-1] == "  " + " " * (column - 1) + "^"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("status = 1", "field status compares with strings, got number 1", 10),
        ("user in ('a', 2)", "compares with strings", 15),
        ("id = true", "compares with strings, got boolean true", 6),
        ("seed = '1'", "field seed compares with numbers, got string '1'", 8),
        ("duration > true", "compares with numbers", 12),
        ("metrics.acc = 'high'", "field metrics.acc compares with numbers", 15),
        ("metrics.acc in (1, 'x')", "compares with numbers", 20),
        ("created_at > 5", "needs an ISO date/datetime string", 14),
        ("started_at > 'yesterday'", "needs an ISO date/datetime string", 14),
        ("ended_at > '2024-02-30'", "needs an ISO date/datetime string", 12),
        ("seed ~ 'x'", "'~' does not apply to number field seed", 8),
        ("created_at ~ '2024'", "'~' does not apply to datetime", 14),
        ("metrics.acc ~ 'x'", "'~' does not apply", 15),
        ("status ~ 1", "'~' needs a string, got number 1", 10),
        ("params.opt ~ true", "'~' needs a string", 14),
        ("params.flag < true", "true/false can only be compared with = or !=", 15),
    ],
)
def test_type_errors(text: str, message: str, column: int) -> None:
    error = parse_error(text)
    assert message in error.message
    assert f"at column {column}" in error.message
    assert error.hint


def test_type_error_hints_show_valid_examples() -> None:
    assert "status = '1'" in parse_error("status = 1").hint
    assert "created_at >= '2024-05-01'" in parse_error("created_at ~ '2024'").hint
    assert "did you mean status" in parse_error("stauts = 'x'").hint
    assert "did you mean metrics" in parse_error("metric.acc > 1").hint


def test_too_deep_nesting_is_a_filter_error() -> None:
    assert "nested too deeply" in parse_error("(" * 500 + "seed = 1" + ")" * 500).message
    assert "nested too deeply" in parse_error("not " * 500 + "seed = 1").message
    assert parse_filter("(" * 60 + "seed = 1" + ")" * 60) == A


def test_lone_surrogate_is_a_filter_error() -> None:
    assert "invalid character" in parse_error("status = '\ud800'").message


def test_non_string_input() -> None:
    with pytest.raises(FilterError):
        parse_filter(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Hand-built trees obey the same rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: Field("column", "nope"),
        lambda: Field("metric", ""),
        lambda: Field("table", "x"),  # type: ignore[arg-type]
        lambda: Compare(col("seed"), "==", 1),
        lambda: Compare(col("seed"), "LIKE", 1),
        lambda: Compare(col("seed"), "=", "1"),
        lambda: Compare(met("acc"), "=", float("nan")),
        lambda: Compare(par("p"), "=", None),  # type: ignore[arg-type]
        lambda: Compare("seed", "=", 1),  # type: ignore[arg-type]
        lambda: InList(col("seed"), ()),
        lambda: InList(col("seed"), [1]),  # type: ignore[arg-type]
        lambda: Contains(col("seed"), "x"),
        lambda: And((A,)),
        lambda: Or((A, "seed = 1")),  # type: ignore[arg-type]
        lambda: Not("seed = 1"),  # type: ignore[arg-type]
        lambda: IsNull("seed"),  # type: ignore[arg-type]
    ],
)
def test_invalid_trees_cannot_be_built(build: object) -> None:
    with pytest.raises(FilterError):
        build()  # type: ignore[operator]


def test_nodes_are_frozen_and_hashable() -> None:
    expr = parse_filter("seed = 1 and metrics.acc > 0.5")
    assert hash(expr) == hash(parse_filter("seed = 1 and metrics.acc > 0.5"))
    with pytest.raises(AttributeError):
        expr.items = ()  # type: ignore[misc, union-attr]


# --------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("SEED == 1", "seed = 1"),
        ("(seed = 1 or seed = 2) and seed = 3", "(seed = 1 or seed = 2) and seed = 3"),
        ("seed = 1 or (seed = 2 or seed = 3)", "seed = 1 or (seed = 2 or seed = 3)"),
        ("seed = 1 or seed = 2 and seed = 3", "seed = 1 or seed = 2 and seed = 3"),
        ("not (seed = 1 and seed = 2)", "not (seed = 1 and seed = 2)"),
        ("seed not in (1, 2)", "not seed in (1, 2)"),
        ('status = "it\'s"', r"status = 'it\'s'"),
        ("metrics.`my metric` is not null", "metrics.`my metric` is not null"),
        ("params.flag = TRUE", "params.flag = true"),
        ("duration < 1e-3", "duration < 0.001"),
    ],
)
def test_format_filter(text: str, printed: str) -> None:
    expr = parse_filter(text)
    assert format_filter(expr) == printed
    assert str(expr) == printed
    assert parse_filter(printed) == expr


# --------------------------------------------------------------------------
# Sort keys
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc", SortKey(met("acc"), False)),
        ("-metrics.acc", SortKey(met("acc"), True)),
        ("started_at:desc", SortKey(col("started_at"), True)),
        ("started_at:asc", SortKey(col("started_at"), False)),
        ("  Seed : DESC ", SortKey(col("seed"), True)),
        ("-params.model.depth", SortKey(par("model.depth"), True)),
        ("metrics.`val loss`:desc", SortKey(met("val loss"), True)),
        ("duration", SortKey(col("duration"), False)),
    ],
)
def test_parse_sort(text: str, expected: SortKey) -> None:
    key = parse_sort(text)
    assert key == expected
    assert parse_sort(format_sort(key)) == key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a field to sort by"),
        ("-", "expected a field to sort by"),
        ("acc", "unknown field 'acc'"),
        ("metrics.", "expected a name after 'metrics.'"),
        ("-seed:asc", "not both"),
        ("seed:up", "unexpected text after sort field"),
        ("seed desc", "unexpected text after sort field"),
        ("seed, id", "unexpected text after sort field"),
    ],
)
def test_parse_sort_errors(text: str, message: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_sort(text)
    assert message in info.value.message
    assert info.value.hint


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------

_chars = st.characters(blacklist_categories=("Cs",))
_names = st.text(_chars, min_size=1, max_size=12)
_strings = st.text(_chars, max_size=12)
_numbers = st.one_of(
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat(sep=" ")),
)
_any_values = st.one_of(_strings, _numbers, st.booleans())

_STRING_COLS = [n for n, t in COLUMN_TYPES.items() if t == "string"]
_NUMBER_COLS = [n for n, t in COLUMN_TYPES.items() if t == "number"]
_DATE_COLS = [n for n, t in COLUMN_TYPES.items() if t == "datetime"]


def _typed_fields() -> st.SearchStrategy[tuple[Field, st.SearchStrategy]]:
    """(field, strategy of values that type-check against it)."""
    return st.one_of(
        st.sampled_from(_STRING_COLS).map(lambda n: (col(n), _strings)),
        st.sampled_from(_NUMBER_COLS).map(lambda n: (col(n), _numbers)),
        _names.map(lambda n: (met(n), _numbers)),
        st.sampled_from(_DATE_COLS).map(lambda n: (col(n), _dates)),
        _names.map(lambda n: (par(n), _any_values)),
    )


@st.composite
def _predicates(draw: st.DrawFn) -> Expr:
    field, values = draw(_typed_fields())
    shape = draw(st.sampled_from(["compare", "in", "null", "contains"]))
    if shape == "null":
        return IsNull(field, draw(st.booleans()))
    if shape == "contains" and (field.kind == "param" or
                                (field.kind == "column" and field.name in _STRING_COLS)):
        return Contains(field, draw(_strings))
    if shape == "in":
        return InList(field, tuple(draw(st.lists(values, min_size=1, max_size=4))))
    value = draw(values)
    ops = ["=", "!="] if isinstance(value, bool) else ["=", "!=", "<", "<=", ">", ">="]
    return Compare(field, draw(st.sampled_from(ops)), value)


def _trees(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    items = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(items.map(And), items.map(Or), children.map(Not))


expressions = st.recursive(_predicates(), _trees, max_leaves=10)


def _typed_repr(value: object) -> object:
    """Make True != 1 and 0.0 != 0 when comparing trees."""
    if isinstance(value, tuple):
        return tuple(_typed_repr(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        fields = value.__dataclass_fields__  # type: ignore[attr-defined]
        return (type(value).__name__, *(_typed_repr(getattr(value, f)) for f in fields))
    return (type(value).__name__, repr(value))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_printed_trees_parse_back_equal(expr: Expr) -> None:
    text = format_filter(expr)
    parsed = parse_filter(text)
    assert parsed == expr
    assert _typed_repr(parsed) == _typed_repr(expr)


@given(_typed_fields().map(lambda fv: fv[0]), st.booleans())
def test_printed_sort_keys_parse_back_equal(field: Field, descending: bool) -> None:
    key = SortKey(field, descending)
    assert parse_sort(format_sort(key)) == key


_FRAGMENTS = [
    "status", "seed", "duration", "created_at", "user", "metrics.", "params.",
    "metrics.acc", "params.`a b`", "`", "and", "or", "not", "in", "is", "null",
    "true", "FALSE", "(", ")", ",", "=", "==", "!=", "<", "<=", ">", ">=", "~",
    "'x'", '"y"', "'", '"', "\\", "1", "-0.5", "1e-3", "1e999", ".", "-", "'2024-01-01'",
    "99999999999999999999", " ", "\n", "\ud800", "é", "*", ";", "--",
]
_token_soup = st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map(" ".join) | st.lists(
    st.sampled_from(_FRAGMENTS), max_size=25
).map("".join)



@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid filter with one slice replaced by a fragment (near-valid text)."""
    text = format_filter(draw(expressions))
    start = draw(st.integers(min_value=0, max_value=len(text)))
    end = draw(st.integers(min_value=start, max_value=min(len(text), start + 6)))
    return text[:start] + draw(st.sampled_from(["", *_FRAGMENTS])) + text[end:]


_garbage = st.one_of(st.text(), _token_soup, _mutated())


def _parses_or_filter_error(text: str) -> Expr | None:
    try:
        return parse_filter(text)
    except FilterError as error:
        assert error.position is not None and 0 <= error.position <= len(text)
        assert error.message.splitlines()[-1].endswith("^")
        return None


@settings(max_examples=500)
@given(_garbage)
def test_garbage_raises_only_filter_error(text: str) -> None:
    expr = _parses_or_filter_error(text)
    if expr is not None:
        assert parse_filter(format_filter(expr)) == expr


@settings(max_examples=300)
@given(st.one_of(_garbage, _typed_fields().map(lambda fv: format_field(fv[0]) + ":desc")))
def test_garbage_sort_keys_raise_only_filter_error(text: str) -> None:
    try:
        key = parse_sort(text)
    except FilterError:
        return
    assert parse_sort(format_sort(key)) == key
