"""Recipes: the declarative `recipe.toml` parsed into a validated model.

The file format is documented in docs/recipes.md. Parsing fails before anything
runs, with the file, the field path and what was expected.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from mlopslab.core.durations import Duration
from mlopslab.core.errors import RecipeError
from mlopslab.core.gates import GatesSpec
from mlopslab.core.strict import Strict

RECIPE_FILE = "recipe.toml"
FIELD_MARK = " :: "  # "SUBFIELD :: message" from a model validator names the exact field
ParamType = Literal["int", "float", "str", "bool", "choice"]
ColumnType = Literal["int", "float", "str", "bool"]


class ParamSpec(Strict):
    """One typed parameter with its default and constraints."""

    type: ParamType
    default: Any
    min: float | None = None
    max: float | None = None
    choices: list[Any] | None = None
    help: str = ""

    @model_validator(mode="after")
    def _check(self) -> ParamSpec:
        from mlopslab.core.params import check_value

        if self.type == "choice" and not self.choices:
            raise ValueError("type 'choice' needs a non-empty 'choices' list")
        if self.type not in ("int", "float") and (self.min is not None or self.max is not None):
            raise ValueError(f"'min'/'max' only apply to int and float params, not {self.type}")
        try:
            check_value(self, self.default, "value")
        except ValueError as e:
            raise ValueError(f"default{FIELD_MARK}{e}") from None
        return self


class ColumnSpec(Strict):
    """Expected type and range of one input column."""

    type: ColumnType
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    allowed: list[Any] | None = None

    @model_validator(mode="after")
    def _range_needs_numbers(self) -> ColumnSpec:
        if self.type not in ("int", "float") and (self.min is not None or self.max is not None):
            raise ValueError(f"'min'/'max' only apply to int and float columns, not {self.type}")
        return self


class DataSchema(Strict):
    columns: dict[str, ColumnSpec]
    allow_extra_columns: bool = True


class DataInput(Strict):
    """A named input file of the recipe."""

    path: str
    format: Literal["csv", "parquet", "file"] = "csv"
    schema_: DataSchema | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _schema_needs_table(self) -> DataInput:
        if self.schema_ is not None and self.format == "file":
            raise ValueError("a 'schema' needs format 'csv' or 'parquet'")
        return self


class Resources(Strict):
    """What each step of a run may use (docs/scheduling.md). Ray places cpus, gpus and
    memory_gb; mlopslab stops a run over its time_limit, gpu_memory_gb or memory_gb."""

    cpus: float = Field(default=1, ge=0)
    gpus: float = Field(default=0, ge=0)
    gpu_memory_gb: float | None = Field(default=None, gt=0)
    memory_gb: float | None = Field(default=None, gt=0)
    time_limit: Duration | None = None

    @field_validator("gpus")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if value > 1 and value != int(value):
            raise ValueError("more than one GPU must be a whole number")
        return value


class StepSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    needs: list[str] | None = None


class Evaluation(Strict):
    metrics: list[str] = []
    primary: str | None = None
    direction: Literal["maximize", "minimize"] = "maximize"


class ModelSpec(Strict):
    """The run's model, and how the registry evaluates it (docs/registry.md)."""

    artifact: str = "model.onnx"
    register_as: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    holdout: str | None = None  # the artifact holding the holdout rows (csv or parquet)
    target: str | None = None  # the holdout's label column
    exclude: list[str] = []  # holdout columns that are no model input (besides target, bias attribute)
    primary: str | None = None  # the score that ranks versions (default: evaluation.primary)

    @model_validator(mode="after")
    def _register_needs_holdout(self) -> ModelSpec:
        if self.register_as and not (self.holdout and self.target):
            raise ValueError(f"register_as{FIELD_MARK}registering a model needs 'holdout' and 'target' "
                             "(the registry evaluates every version on holdout data)")
        return self


class Recipe(Strict):
    """A parsed, validated recipe. `path` is the recipe folder."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    seed: int = 0
    params: dict[str, ParamSpec] = {}
    data: dict[str, DataInput] = {}
    resources: Resources = Resources()
    steps: list[StepSpec] = Field(min_length=1)
    evaluation: Evaluation = Evaluation()
    model: ModelSpec = ModelSpec()
    gates: GatesSpec | None = None
    path: Path = Path(".")

    @model_validator(mode="after")
    def _check_steps(self) -> Recipe:
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.name in seen:
                raise ValueError(f"steps[{i}].name{FIELD_MARK}'{step.name}' is used twice")
            for need in step.needs or []:
                if need not in seen:
                    raise ValueError(
                        f"steps[{i}].needs{FIELD_MARK}step '{step.name}' needs '{need}', which is not an earlier step"
                    )
            seen.add(step.name)
        return self

    def upstream(self, index: int) -> list[str]:
        """Names of the steps that step `index` consumes."""
        step = self.steps[index]
        if step.needs is not None:
            return list(step.needs)
        return [self.steps[index - 1].name] if index > 0 else []

    def data_path(self, name: str) -> Path:
        path = Path(self.data[name].path)
        return path if path.is_absolute() else self.path / path


def load_recipe(folder: str | Path) -> Recipe:
    """Read and validate `folder/recipe.toml`; raise RecipeError naming file and field."""
    folder = Path(folder).resolve()
    file = folder / RECIPE_FILE
    if not folder.is_dir():
        raise RecipeError(f"{folder}: no such recipe folder", "pass a folder that holds recipe.toml")
    if not file.is_file():
        raise RecipeError(f"{file}: missing", "a recipe folder needs a recipe.toml (docs/recipes.md)")
    try:
        raw = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{file}: not valid TOML: {e}") from e
    raw.pop("path", None)
    try:
        return Recipe.model_validate({**raw, "path": folder})
    except ValidationError as e:
        raise RecipeError(_describe(file, e), "see docs/recipes.md for the format") from e


def _describe(file: Path, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = "".join(_field_part(p) for p in item["loc"])
        message = _clean(item["msg"])
        if FIELD_MARK in message:
            sub, message = message.split(FIELD_MARK, 1)
            where += sub if sub.startswith("[") else f".{sub}"
        where = re.sub(r"\.schema_\b", ".schema", where.lstrip(".")) or "(top level)"
        problems.append(f"{where}: {message}")
    return f"{file}: " + "; ".join(problems)


def _field_part(part: str | int) -> str:
    return f"[{part}]" if isinstance(part, int) else f".{part}"


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")
