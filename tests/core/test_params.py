"""Tests of `--set` overrides and `--sweep` grids (mlopslab.core.params)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlopslab.core.errors import RecipeError
from mlopslab.core.params import expand_sweeps, resolve_params
from mlopslab.core.recipe import RECIPE_FILE, Recipe, load_recipe

RECIPE = """\
name = "p"

[params.epochs]
type = "int"
default = 10
min = 1
max = 100
help = "Passes over the data"

[params.lr]
type = "float"
default = 0.01
min = 0.0
max = 1.0

[params.shuffle]
type = "bool"
default = true

[params.opt]
type = "choice"
choices = ["adam", "sgd", 3]
default = "adam"

[params.tag]
type = "str"
default = "base"

[[steps]]
name = "a"
function = "steps:a"
"""


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> Recipe:
    folder = tmp_path_factory.mktemp("recipe")
    (folder / RECIPE_FILE).write_text(RECIPE)
    return load_recipe(folder)


def error(recipe: Recipe, overrides: list[str]) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        resolve_params(recipe, overrides)
    return info.value


# resolve_params ---------------------------------------------------------------


def test_defaults_without_overrides(recipe: Recipe) -> None:
    assert resolve_params(recipe) == {
        "epochs": 10, "lr": 0.01, "shuffle": True, "opt": "adam", "tag": "base",
    }


def test_overrides_are_converted_to_the_param_type(recipe: Recipe) -> None:
    values = resolve_params(
        recipe, ["epochs=20", "lr=0.5", "shuffle=no", "opt=sgd", "tag=hello world"]
    )
    assert values == {
        "epochs": 20, "lr": 0.5, "shuffle": False, "opt": "sgd", "tag": "hello world",
    }
    assert type(values["epochs"]) is int
    assert type(values["lr"]) is float
    assert type(values["shuffle"]) is bool


def test_float_param_given_an_integer_text_is_a_float(recipe: Recipe) -> None:
    value = resolve_params(recipe, ["lr=1"])["lr"]
    assert value == 1.0 and type(value) is float


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("1", True), ("YES", True), ("on", True),
     ("false", False), ("0", False), ("No", False), ("off", False)],
)
def test_bool_spellings(recipe: Recipe, text: str, expected: bool) -> None:
    assert resolve_params(recipe, [f"shuffle={text}"])["shuffle"] is expected


def test_choice_keeps_the_declared_value_type(recipe: Recipe) -> None:
    # choices may be non-strings; the command line text matches their str()
    assert resolve_params(recipe, ["opt=3"])["opt"] == 3


def test_whitespace_around_key_and_value_is_ignored(recipe: Recipe) -> None:
    assert resolve_params(recipe, [" epochs = 42 "])["epochs"] == 42


def test_value_may_contain_equals_signs(recipe: Recipe) -> None:
    assert resolve_params(recipe, ["tag=a=b"])["tag"] == "a=b"


def test_later_override_wins(recipe: Recipe) -> None:
    assert resolve_params(recipe, ["epochs=2", "epochs=3"])["epochs"] == 3


def test_overrides_do_not_change_the_recipe(recipe: Recipe) -> None:
    resolve_params(recipe, ["epochs=2"])
    assert resolve_params(recipe)["epochs"] == 10


def test_unknown_key_lists_the_known_params(recipe: Recipe) -> None:
    e = error(recipe, ["epohcs=3"])
    assert "epohcs" in e.message and "'p'" in e.message
    assert e.hint == "params: epochs, lr, opt, shuffle, tag"


def test_unknown_key_on_a_recipe_without_params(tmp_path: Path) -> None:
    (tmp_path / RECIPE_FILE).write_text('name = "q"\n[[steps]]\nname = "a"\nfunction = "s:a"\n')
    e = error(load_recipe(tmp_path), ["x=1"])
    assert e.hint == "params: (none)"


@pytest.mark.parametrize("assignment", ["epochs", "=3", "  =3", ""])
def test_missing_equals_or_key(recipe: Recipe, assignment: str) -> None:
    e = error(recipe, [assignment])
    assert "KEY=VALUE" in e.message
    assert "--set" in e.message


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("epochs=0", "below the minimum 1"),
        ("epochs=101", "above the maximum 100"),
        ("lr=-0.5", "below the minimum 0"),
        ("lr=2", "above the maximum 1"),
        ("lr=inf", "not a finite number"),
    ],
)
def test_out_of_range(recipe: Recipe, assignment: str, expected: str) -> None:
    e = error(recipe, [assignment])
    assert e.message.startswith(f"--set {assignment}: ")
    assert expected in e.message
    assert "recipe.toml" not in e.message  # the command line is wrong, not the recipe


def test_out_of_range_hint_gives_the_range_and_the_param_help(recipe: Recipe) -> None:
    e = error(recipe, ["epochs=0"])
    assert e.message == "--set epochs=0: 0 is below the minimum 1"
    assert e.hint == "param 'epochs' takes an int from 1 to 100: Passes over the data"


def test_hint_without_help_still_gives_the_type_and_range(recipe: Recipe) -> None:
    assert error(recipe, ["lr=2"]).hint == "param 'lr' takes a number from 0 to 1"
    assert error(recipe, ["opt=x"]).hint == "param 'opt' takes one of adam, sgd, 3"
    assert error(recipe, ["shuffle=x"]).hint == "param 'shuffle' takes true or false"


def test_nan_is_outside_any_range(recipe: Recipe) -> None:
    e = error(recipe, ["lr=nan"])
    assert e.message.startswith("--set lr=nan: ")


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("epochs=1.5", "'1.5' is not a valid int"),
        ("epochs=ten", "'ten' is not a valid int"),
        ("lr=fast", "'fast' is not a valid float"),
        ("shuffle=maybe", "'maybe' is not a valid bool"),
        ("opt=rmsprop", "'rmsprop' is not one of ['adam', 'sgd', 3]"),
        ("epochs=", "'' is not a valid int"),
    ],
)
def test_wrong_type(recipe: Recipe, assignment: str, expected: str) -> None:
    e = error(recipe, [assignment])
    assert e.message == f"--set {assignment}: {expected}"
    assert e.hint is not None and e.hint.startswith(f"param '{assignment.split('=')[0]}' takes ")


# expand_sweeps ----------------------------------------------------------------


def test_no_sweep_is_one_point_equal_to_base(recipe: Recipe) -> None:
    base = resolve_params(recipe)
    grid = expand_sweeps(recipe, base)
    assert grid == [base]
    assert grid[0] is not base


def test_single_axis(recipe: Recipe) -> None:
    base = resolve_params(recipe)
    grid = expand_sweeps(recipe, base, ["epochs=1,2,3"])
    assert [p["epochs"] for p in grid] == [1, 2, 3]
    assert all(p["lr"] == 0.01 and p["tag"] == "base" for p in grid)


def test_cartesian_product_in_order(recipe: Recipe) -> None:
    base = resolve_params(recipe, ["tag=x"])
    grid = expand_sweeps(recipe, base, ["epochs=1, 2", "lr=0.1,0.2,0.3"])
    assert [(p["epochs"], p["lr"]) for p in grid] == [
        (1, 0.1), (1, 0.2), (1, 0.3), (2, 0.1), (2, 0.2), (2, 0.3),
    ]
    assert all(p["tag"] == "x" for p in grid)
    assert all(type(p["epochs"]) is int and type(p["lr"]) is float for p in grid)


def test_sweep_values_are_converted(recipe: Recipe) -> None:
    grid = expand_sweeps(recipe, resolve_params(recipe), ["shuffle=true,off", "opt=sgd,3"])
    assert [(p["shuffle"], p["opt"]) for p in grid] == [
        (True, "sgd"), (True, 3), (False, "sgd"), (False, 3),
    ]


def test_sweep_does_not_mutate_base(recipe: Recipe) -> None:
    base = resolve_params(recipe)
    expand_sweeps(recipe, base, ["epochs=5,6"])
    assert base["epochs"] == 10


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        ("epochs=1,200", "above the maximum 100"),
        ("epochs=1,x", "'x' is not a valid int"),
        ("opt=adam,rmsprop", "'rmsprop' is not one of"),
    ],
)
def test_sweep_values_are_type_checked(recipe: Recipe, sweep: str, expected: str) -> None:
    with pytest.raises(RecipeError) as info:
        expand_sweeps(recipe, resolve_params(recipe), [sweep])
    assert expected in info.value.message
    assert info.value.message.startswith(f"--sweep {sweep}: ")


def test_sweep_range_error_names_the_flag(recipe: Recipe) -> None:
    with pytest.raises(RecipeError) as info:
        expand_sweeps(recipe, resolve_params(recipe), ["epochs=1,200"])
    assert info.value.message == "--sweep epochs=1,200: 200 is above the maximum 100"
    assert info.value.hint == "param 'epochs' takes an int from 1 to 100: Passes over the data"


def test_sweep_unknown_key(recipe: Recipe) -> None:
    with pytest.raises(RecipeError) as info:
        expand_sweeps(recipe, resolve_params(recipe), ["lrr=0.1,0.2"])
    assert "--sweep lrr" in info.value.message
    assert info.value.hint == "params: epochs, lr, opt, shuffle, tag"


def test_sweep_without_equals(recipe: Recipe) -> None:
    with pytest.raises(RecipeError) as info:
        expand_sweeps(recipe, resolve_params(recipe), ["epochs"])
    assert "--sweep" in info.value.message and "KEY=VALUE" in info.value.message
