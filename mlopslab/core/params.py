"""Typed params: checking values, `--set key=value` overrides and `--sweep` grids."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from mlopslab.core.errors import RecipeError

if TYPE_CHECKING:
    from mlopslab.core.recipe import ParamSpec, Recipe

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def check_value(spec: ParamSpec, value: Any, what: str = "value") -> Any:
    """Return `value` if it fits `spec`, else raise ValueError saying what was expected.

    `what` starts the message ("value 0 is below the minimum 1"); "" leaves it out."""
    what = f"{what} " if what else ""
    kind = spec.type
    if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise ValueError(f"{what}{value!r} is not an int")
    if kind == "float" and not (isinstance(value, int | float) and not isinstance(value, bool)):
        raise ValueError(f"{what}{value!r} is not a number")
    if kind in ("int", "float") and not math.isfinite(value):
        raise ValueError(f"{what}{value!r} is not a finite number")
    if kind == "str" and not isinstance(value, str):
        raise ValueError(f"{what}{value!r} is not a string")
    if kind == "bool" and not isinstance(value, bool):
        raise ValueError(f"{what}{value!r} is not true/false")
    if kind == "choice" and value not in (spec.choices or []):
        raise ValueError(f"{what}{value!r} is not one of {spec.choices}")
    if spec.min is not None and value < spec.min:
        raise ValueError(f"{what}{value!r} is below the minimum {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ValueError(f"{what}{value!r} is above the maximum {spec.max:g}")
    return float(value) if kind == "float" else value


def convert(spec: ParamSpec, text: str) -> Any:
    """Turn command-line text into a value of the param's type."""
    try:
        if spec.type == "int":
            return int(text)
        if spec.type == "float":
            return float(text)
        if spec.type == "bool":
            return _to_bool(text)
        if spec.type == "choice":
            return _match_choice(spec.choices or [], text)
        return text
    except ValueError:
        raise ValueError(f"{text!r} is not a valid {spec.type}") from None


def _to_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(text)


def _match_choice(choices: list[Any], text: str) -> Any:
    for choice in choices:
        if str(choice) == text:
            return choice
    return text  # check_value reports the valid choices


def _split(recipe: Recipe, assignment: str, flag: str) -> tuple[str, str]:
    key, sep, value = assignment.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"{flag} {assignment!r}: expected KEY=VALUE", _known(recipe))
    return key.strip(), value.strip()


def _known(recipe: Recipe) -> str:
    return f"params: {', '.join(sorted(recipe.params)) or '(none)'}"


def expected(spec: ParamSpec) -> str:
    """What a param takes, in words: "an int from 1 to 100", "one of adam, sgd"."""
    if spec.type == "choice":
        return "one of " + ", ".join(str(c) for c in spec.choices or [])
    kind = {"int": "an int", "float": "a number", "str": "a string",
            "bool": "true or false"}[spec.type]
    if spec.min is not None and spec.max is not None:
        return f"{kind} from {spec.min:g} to {spec.max:g}"
    if spec.min is not None:
        return f"{kind} of at least {spec.min:g}"
    if spec.max is not None:
        return f"{kind} of at most {spec.max:g}"
    return kind


def _spec(recipe: Recipe, key: str, flag: str) -> ParamSpec:
    spec = recipe.params.get(key)
    if spec is None:
        raise RecipeError(f"{flag} {key}: recipe '{recipe.name}' has no param '{key}'",
                          _known(recipe))
    return spec


def _typed(recipe: Recipe, key: str, text: str, label: str) -> Any:
    """`text` as a value of param `key`; a RecipeError naming `label` (the flag as given),
    with what the param takes and its help as the hint."""
    spec = _spec(recipe, key, label.split(" ")[0])
    try:
        return check_value(spec, convert(spec, text), "")
    except ValueError as e:
        hint = f"param '{key}' takes {expected(spec)}" + (f": {spec.help}" if spec.help else "")
        raise RecipeError(f"{label}: {e}", hint) from None


def resolve_params(recipe: Recipe, overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Defaults of `recipe` with `--set KEY=VALUE` overrides applied and type-checked."""
    values = {key: check_value(spec, spec.default) for key, spec in recipe.params.items()}
    for assignment in overrides:
        key, text = _split(recipe, assignment, "--set")
        values[key] = _typed(recipe, key, text, f"--set {key}={text}")
    return values


def expand_sweeps(
    recipe: Recipe, base: dict[str, Any], sweeps: list[str] | tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """One params dict per point of the grid `--sweep KEY=a,b,c` (cartesian product)."""
    axes: list[tuple[str, list[Any]]] = []
    for assignment in sweeps:
        key, text = _split(recipe, assignment, "--sweep")
        _spec(recipe, key, "--sweep")
        label = f"--sweep {key}={text}"
        values = [_typed(recipe, key, part.strip(), label) for part in text.split(",")]
        axes.append((key, values))
    if not axes:
        return [dict(base)]
    grid = itertools.product(*(values for _, values in axes))
    return [{**base, **dict(zip([k for k, _ in axes], point, strict=True))} for point in grid]
