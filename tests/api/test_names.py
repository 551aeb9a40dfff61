"""No operation name is typed twice: outside the table (mlopslab/api) and the typed
client (mlopslab/client), no code names an operation by a string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlopslab.api import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
OWNERS = (ROOT / "mlopslab" / "api", ROOT / "mlopslab" / "client")
SOURCES = sorted(p for folder in ("mlopslab", "scripts", "benchmarks")
                 for p in (ROOT / folder).rglob("*.py") if not any(o in p.parents for o in OWNERS))
# one-word names ("logs", "queue", "deploy") are also command names and words; names
# with an underscore are only ever operation names, so none may appear as a literal
# (two are also words of other formats: "model_version" is a field of the Open
# Inference Protocol and an event kind, "gate_report" an event kind)
COMPOUND = {name for name in OPERATIONS if "_" in name} - {"model_version", "gate_report"}


def literals(tree: ast.AST) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def requests_by_name(tree: ast.AST) -> list[int]:
    """`x.call("op", ...)` and `{"op": "name", "args": ...}` messages (the deployment
    gateway's own control messages, `{"op": "switch"}`, are another protocol)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("call", "_call", "call_service") and node.args[0].value in OPERATIONS:
                found.append(node.lineno)
        if isinstance(node, ast.Dict):
            keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
            if {"op", "args"} <= keys:
                found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_operation_is_named_outside_the_table_and_the_client(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    named = [(line, text) for line, text in literals(tree) if text in COMPOUND]
    assert not named, f"operation names as strings: {named}"
    assert not requests_by_name(tree), "a request built by operation name"
