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

The package: ``fields`` (fields, their value types and the type checks), ``nodes``
(the tree and its printing), ``lexer`` (text to tokens), ``parser`` (tokens to a
tree) and ``sort`` (sort keys). Import from the package, not its modules.
"""

from __future__ import annotations

from mlopslab.core.errors import FilterError
from mlopslab.core.filters.fields import COLUMN_TYPES, COMPARE_OPS, Field, Value, field_type, format_field
from mlopslab.core.filters.nodes import (
    And,
    Compare,
    Contains,
    Expr,
    InList,
    IsNull,
    Not,
    Or,
    SortKey,
    format_filter,
    format_sort,
)
from mlopslab.core.filters.parser import parse_filter
from mlopslab.core.filters.sort import parse_sort

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
