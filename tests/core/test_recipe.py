"""Tests of loading and validating `recipe.toml` (mlopslab.core.recipe)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlopslab.core.errors import RecipeError
from mlopslab.core.recipe import RECIPE_FILE, Recipe, load_recipe

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "recipes"

# A small valid recipe; each malformed case below changes one thing in it.
GOOD = """\
name = "demo"
seed = 7

[params.lr]
type = "float"
default = 0.1
min = 0.0001
max = 1.0
help = "Learning rate"

[params.mode]
type = "choice"
choices = ["fast", "slow"]
default = "fast"

[data.train]
path = "data/train.csv"

[data.train.schema.columns.x]
type = "float"
min = 0.0

[resources]
cpus = 0.5
time_limit = "1h30m"

[[steps]]
name = "prepare"
function = "steps:prepare"

[[steps]]
name = "train"
function = "steps:train"
"""


def write_recipe(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECIPE_FILE).write_text(text)
    return folder


def load_error(folder: Path, text: str) -> RecipeError:
    write_recipe(folder, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(folder)
    return info.value


def assert_names(error: RecipeError, folder: Path, *parts: str) -> None:
    message = error.message
    assert str((folder / RECIPE_FILE).resolve()) in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# bundled recipes -----------------------------------------------------------


@pytest.mark.parametrize("name", ["tabular-classifier", "mlp-digits"])
def test_bundled_recipe_loads(name: str) -> None:
    recipe = load_recipe(BUNDLED / name)
    assert recipe.name == name
    assert recipe.path == (BUNDLED / name).resolve()
    # the tabular recipe scores its exported ONNX model, as the registry does
    expected = {"tabular-classifier": ["split", "train", "export", "evaluate"],
                "mlp-digits": ["split", "train", "evaluate", "export"]}
    assert [s.name for s in recipe.steps] == expected[name]
    assert recipe.evaluation.primary in recipe.evaluation.metrics
    train = recipe.data_path("train")
    assert train.is_file(), train
    assert recipe.data["train"].schema_ is not None
    assert "target" in recipe.data["train"].schema_.columns
    assert recipe.resources.time_limit == "30m"
    assert recipe.model.artifact == "model.onnx"


def test_tabular_classifier_params_and_dag() -> None:
    recipe = load_recipe(BUNDLED / "tabular-classifier")
    assert recipe.seed == 42
    assert recipe.params["criterion"].choices == ["gini", "entropy"]
    assert recipe.params["n_estimators"].default == 100
    assert recipe.upstream(0) == []
    assert recipe.upstream(2) == ["split", "train"]


# a valid recipe --------------------------------------------------------------


def test_good_recipe_loads_with_defaults(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "demo", GOOD))
    assert isinstance(recipe, Recipe)
    assert recipe.seed == 7
    assert recipe.resources.cpus == 0.5
    assert recipe.resources.gpus == 0
    assert recipe.evaluation.direction == "maximize"
    # `needs` omitted: a step consumes the previous one
    assert recipe.upstream(1) == ["prepare"]
    assert recipe.data_path("train") == (tmp_path / "demo" / "data" / "train.csv").resolve()
    assert recipe.data["train"].format == "csv"


def test_absolute_data_path_is_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.csv"
    text = GOOD.replace('path = "data/train.csv"', f'path = "{elsewhere}"')
    recipe = load_recipe(write_recipe(tmp_path / "demo", text))
    assert recipe.data_path("train") == elsewhere


def test_recipe_is_immutable(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "demo", GOOD))
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        recipe.seed = 8  # type: ignore[misc]


# malformed recipes: file and field path in the message -----------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(tmp_path / "nope")
    assert str(tmp_path / "nope") in info.value.message
    assert info.value.hint


def test_missing_recipe_toml(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError) as info:
        load_recipe(tmp_path / "empty")
    assert str(tmp_path / "empty" / RECIPE_FILE) in info.value.message
    assert "missing" in info.value.message
    assert "recipe.toml" in (info.value.hint or "")


def test_bad_toml_syntax(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('seed = 7', 'seed = = 7'))
    assert_names(error, tmp_path / "r", "not valid TOML", "line 2")


def test_unknown_top_level_key_typo(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("[params.lr]", "[parms.lr]"))
    assert_names(error, tmp_path / "r", "parms")
    assert error.hint and "docs/recipes.md" in error.hint


def test_unknown_nested_key_typo(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('help = "Learning rate"', 'hlep = "x"'))
    assert_names(error, tmp_path / "r", "params.lr.hlep")


def test_default_outside_min_max(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("default = 0.1", "default = 5.0"))
    assert_names(error, tmp_path / "r", "params.lr", "default", "5.0", "maximum 1")


def test_default_below_min(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("default = 0.1", "default = 0.0"))
    assert_names(error, tmp_path / "r", "params.lr", "default", "below the minimum")


def test_default_of_wrong_type(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("default = 0.1", 'default = "big"'))
    assert_names(error, tmp_path / "r", "params.lr", "'big'", "not a number")


def test_default_error_names_full_field_path(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("default = 0.1", "default = 5.0"))
    assert_names(error, tmp_path / "r", "params.lr.default")


def test_missing_default(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("default = 0.1\n", ""))
    assert_names(error, tmp_path / "r", "params.lr.default", "required")


def test_unknown_param_type(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('type = "float"\ndefault = 0.1',
                                                     'type = "double"\ndefault = 0.1'))
    assert_names(error, tmp_path / "r", "params.lr.type", "'int'", "'choice'")


def test_choice_without_choices(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('choices = ["fast", "slow"]\n', ""))
    assert_names(error, tmp_path / "r", "params.mode", "choices")


def test_choice_default_not_among_choices(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('default = "fast"', 'default = "medium"'))
    assert_names(error, tmp_path / "r", "params.mode", "'medium'", "fast", "slow")


def test_min_on_a_string_param(tmp_path: Path) -> None:
    text = GOOD + '\n[params.tag]\ntype = "str"\ndefault = "a"\nmin = 1\n'
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "params.tag", "min")


def test_step_function_without_module(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('function = "steps:train"',
                                                     'function = "train"'))
    assert_names(error, tmp_path / "r", "function", "[1]")


def test_step_error_field_path_format(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('function = "steps:train"',
                                                     'function = "train"'))
    assert_names(error, tmp_path / "r", "steps[1].function")


def test_bad_step_name(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('name = "train"', 'name = "2 train"'))
    assert_names(error, tmp_path / "r", "name")
    assert re.search(r"steps\.?\[1\]\.name", error.message), error.message


def test_needs_unknown_step(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD + 'needs = ["prepair"]\n')
    assert_names(error, tmp_path / "r", "train", "needs", "'prepair'")


def test_needs_a_later_step(tmp_path: Path) -> None:
    text = GOOD.replace('function = "steps:prepare"',
                        'function = "steps:prepare"\nneeds = ["train"]')
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "prepare", "'train'", "not an earlier step")


def test_needs_error_names_field_path(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD + 'needs = ["prepair"]\n')
    assert_names(error, tmp_path / "r", "steps[1].needs")


def test_duplicate_step_name(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('name = "train"', 'name = "prepare"'))
    assert_names(error, tmp_path / "r", "'prepare'", "twice")


def test_no_steps(tmp_path: Path) -> None:
    text = GOOD.split("[[steps]]")[0]
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "steps", "required")


def test_bad_time_limit(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('"1h30m"', '"5 parsecs"'))
    assert_names(error, tmp_path / "r", "resources.time_limit", "5 parsecs", "30m")


def test_negative_cpus(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("cpus = 0.5", "cpus = -1"))
    assert_names(error, tmp_path / "r", "resources.cpus")


def test_fractional_gpus_above_one(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("cpus = 0.5", "gpus = 1.5"))
    assert_names(error, tmp_path / "r", "resources.gpus", "whole number")


def test_infinite_gpus_is_a_recipe_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace("cpus = 0.5", "gpus = inf"))
    assert_names(error, tmp_path / "r", "resources.gpus")


def test_bad_column_type(tmp_path: Path) -> None:
    text = GOOD.replace('[data.train.schema.columns.x]\ntype = "float"',
                        '[data.train.schema.columns.x]\ntype = "flaot"')
    error = load_error(tmp_path / "r", text)
    # the pydantic alias `schema_` must not leak into the message
    assert_names(error, tmp_path / "r", "data.train.schema.columns.x.type")
    assert "schema_" not in error.message


def test_schema_on_a_plain_file_input(tmp_path: Path) -> None:
    text = GOOD.replace('path = "data/train.csv"', 'path = "data/x.bin"\nformat = "file"')
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "data.train", "schema")


def test_min_on_a_string_column(tmp_path: Path) -> None:
    text = GOOD.replace('[data.train.schema.columns.x]\ntype = "float"',
                        '[data.train.schema.columns.x]\ntype = "str"')
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "data.train.schema.columns.x")


def test_bad_recipe_name(tmp_path: Path) -> None:
    error = load_error(tmp_path / "r", GOOD.replace('name = "demo"', 'name = "My Recipe"'))
    assert_names(error, tmp_path / "r", "name")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = GOOD.replace("[params.lr]", "[parms.lr]").replace('"1h30m"', '"soon"')
    error = load_error(tmp_path / "r", text)
    assert_names(error, tmp_path / "r", "parms", "resources.time_limit")


def test_path_key_in_file_does_not_override_folder(tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "r", 'path = "/elsewhere"\n' + GOOD))
    assert recipe.path == (tmp_path / "r").resolve()


# fuzzing ---------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_VALUE = st.one_of(
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.booleans(),
    st.sampled_from(["int", "float", "str", "bool", "choice", "30m", "x:y", "5 parsecs", ""]),
    st.lists(st.sampled_from(["a", "b", "prepare", "train"]), max_size=3),
)
_KEYS = st.sampled_from(
    ["type", "default", "min", "max", "choices", "help", "needs", "function", "name",
     "time_limit", "gpus", "cpus", "path", "format", "bogus"]
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value) + '"'


@st.composite
def _structured(draw: st.DrawFn) -> str:
    """Near-valid recipes: the GOOD recipe with a few fields replaced by random values."""
    lines = GOOD.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        key, value = draw(_KEYS), draw(_VALUE)
        if draw(st.booleans()) and "=" in lines[index]:
            key = lines[index].split("=")[0].strip()
        lines[index] = f"{key} = {_toml(value)}"
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_TEXT, _structured()))
def test_any_recipe_text_gives_a_recipe_or_a_recipe_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / RECIPE_FILE).write_text(text, encoding="utf-8")
        try:
            load_recipe(folder)
        except RecipeError as e:
            assert str(Path(folder).resolve() / RECIPE_FILE) in e.message
