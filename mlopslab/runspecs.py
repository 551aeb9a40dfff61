"""A recipe and its overrides as run specs: what `mlopslab run` and the TUI submit.

Every check happens here, before the service is asked: the recipe loads, each
override (`--set`, `--sweep`, `--seed`, `--data`, the resource options) is valid,
and a sweep expands to one spec per point. Errors name the option as the command
line writes it, since that is how both front ends offer them.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mlopslab.core.errors import RecipeError
from mlopslab.core.run import RunResources, RunSettings, RunSpec
from mlopslab.lab import Lab


@dataclass(frozen=True)
class RunOptions:
    """What `mlopslab run` (its options) and the TUI's launch form say about a run,
    before any check: `build_specs` checks them. None: the recipe's or the lab's own."""

    sets: tuple[str, ...] = ()  # KEY=VALUE overrides, as `--set` writes them
    sweeps: tuple[str, ...] = ()  # KEY=V1,V2,... as `--sweep` writes them
    seed: int | None = None
    data: tuple[str, ...] = ()  # NAME=PATH, as `--data` writes them
    project: str | None = None
    user: str | None = None
    cpus: float | None = None
    gpus: float | None = None
    gpu_memory_gb: float | None = None
    memory_gb: float | None = None
    time_limit: str | None = None  # a duration such as "2h"
    priority: int = 0
    from_scratch: bool = False
    ray_address: str | None = None

    @classmethod
    def of(cls, given: Mapping[str, Any]) -> RunOptions:
        """The options among `given` (a command's keyword arguments, say)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in given.items() if k in names and v is not None})


SEED_MAX = 2**32 - 1  # numpy and scikit-learn take seeds 0..2**32-1


def build_specs(lab: Lab, recipe_arg: str, opts: RunOptions) -> list[RunSpec]:
    """Validate the recipe and every override before anything runs."""
    from mlopslab.core.params import expand_sweeps, resolve_params
    from mlopslab.core.recipe import load_recipe

    recipe = load_recipe(recipe_folder(lab, recipe_arg))
    base = resolve_params(recipe, list(opts.sets))
    grid = expand_sweeps(recipe, base, list(opts.sweeps))
    common: dict[str, Any] = {
        "recipe": recipe.name, "recipe_path": str(recipe.path),
        "project": opts.project or lab.config.lab.default_project,
        "user": opts.user or getpass.getuser(),
        "seed": _seed(recipe, opts.seed),
        "resources": _resources(recipe, opts), "priority": int(opts.priority),
        "options": RunSettings(from_scratch=opts.from_scratch, data=_data(recipe, opts.data),
                               ray_address=opts.ray_address),
    }
    return [RunSpec(**common, params=params) for params in grid]


SCRIPT_ONLY_RECIPES = {"sets": "--set", "sweeps": "--sweep", "data": "--data", "from_scratch": "--from-scratch"}


def build_script_spec(lab: Lab, script_arg: str, opts: RunOptions, args: tuple[str, ...]) -> RunSpec:
    """A Python script run through the queue (exec/script_run.py): its resources from the
    options (1 CPU, no GPU by default), its own arguments passed on as they are."""
    script = Path(script_arg).expanduser().resolve()
    if not script.is_file():
        raise RecipeError(f"{script_arg}: no such script", "give the path of a .py file (or a recipe folder)")
    for key, flag in SCRIPT_ONLY_RECIPES.items():
        if getattr(opts, key):
            raise RecipeError(f"{flag} is for recipes; a script takes its own arguments",
                              f"pass them after --: mlopslab run {script_arg} -- --your-args")
    if opts.seed is not None and not 0 <= opts.seed <= SEED_MAX:
        raise RecipeError(f"--seed {opts.seed}: a seed is a whole number from 0 to {SEED_MAX}")
    return RunSpec(recipe=script.stem, recipe_path=str(script),
                   project=opts.project or lab.config.lab.default_project,
                   user=opts.user or getpass.getuser(), seed=opts.seed, params={},
                   resources=_resources(_NoRecipe(script), opts), priority=int(opts.priority),
                   options=RunSettings(ray_address=opts.ray_address, kind="script", args=tuple(args),
                                       cwd=str(Path.cwd())))


class _NoRecipe:
    """What `_resources` asks of a recipe, for a script: the defaults."""

    def __init__(self, script: Path) -> None:
        from mlopslab.core.recipe import Resources

        self.resources = Resources()
        self.path = script


def _seed(recipe: Any, given: int | None) -> int:
    seed = recipe.seed if given is None else given
    if not 0 <= seed <= SEED_MAX:
        where = f"{recipe.path / 'recipe.toml'}: seed {seed}" if given is None else f"--seed {seed}"
        raise RecipeError(f"{where}: a seed is a whole number from 0 to {SEED_MAX}",
                          f"numpy and scikit-learn take seeds from 0 to {SEED_MAX} (2**32 - 1)")
    return int(seed)


def recipe_folder(lab: Lab, arg: str) -> Path:
    """RECIPE as given: a folder, or the name of one of the lab's recipes."""
    path = Path(arg)
    if not path.exists() and (lab.recipes / arg).is_dir():
        return lab.recipes / arg  # a bare name: the lab's recipe of that name
    return path


RESOURCE_FLAGS = {"cpus": "--cpus", "gpus": "--gpus", "gpu_memory_gb": "--gpu-memory",
                  "memory_gb": "--memory", "time_limit": "--time-limit"}


def _resources(recipe: Any, opts: RunOptions) -> RunResources:
    """The recipe's resources with the options given; a bad option named as written."""
    from pydantic import ValidationError

    from mlopslab.core.durations import FORMS, parse_duration
    from mlopslab.core.recipe import Resources

    merged = recipe.resources.model_dump()
    given = {key: getattr(opts, key) for key in RESOURCE_FLAGS}
    for key, value in given.items():
        if value is not None:
            merged[key] = value
    limit = opts.time_limit
    if limit is not None:
        try:
            seconds = parse_duration(str(limit))
        except ValueError:
            raise RecipeError(f"--time-limit {limit}: not a duration",
                              f"write a duration like {FORMS}") from None
        if seconds <= 0:
            raise RecipeError(f"--time-limit {limit}: must be more than 0",
                              f"write a duration like {FORMS}")
    try:
        checked = Resources.model_validate(merged)
    except ValidationError as e:
        problem = e.errors()[0]
        key = str(problem["loc"][0]) if problem["loc"] else ""
        message = _plain(problem["msg"])
        if given.get(key) is not None:
            raise RecipeError(f"{RESOURCE_FLAGS[key]} {given[key]:g}: {message}",
                              _RESOURCE_HINTS.get(key)) from None
        raise RecipeError(f"{recipe.path / 'recipe.toml'}: resources.{key}: {message}",
                          "see docs/recipes.md for the format") from None
    return RunResources.from_json(checked.model_dump())


_RESOURCE_HINTS = {
    "cpus": "CPUs per step: 0 or more, fractions allowed",
    "gpus": "GPUs per step: 0 or more; a fraction (0.5) shares a GPU, more than 1 is whole",
    "gpu_memory_gb": "GPU memory limit in GiB: more than 0",
    "memory_gb": "host memory per step in GiB: more than 0",
}


def _plain(message: str) -> str:
    """pydantic's message as part of ours: "Input should be greater than 0" -> "must be ..."."""
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message.replace("Input should be", "must be")


def _data(recipe: Any, pairs: tuple[str, ...]) -> dict[str, str]:
    inputs = f"its data inputs: {', '.join(sorted(recipe.data))}" if recipe.data else \
        f"recipe '{recipe.name}' has no data inputs"
    data = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise RecipeError(f"--data {pair}: expected NAME=PATH", inputs)
        if name not in recipe.data:
            raise RecipeError(f"--data {pair}: recipe '{recipe.name}' has no data input "
                              f"'{name}'", inputs)
        if not Path(path).exists():
            raise RecipeError(f"--data {pair}: {path} does not exist",
                              "give the path of an existing file")
        data[name] = str(Path(path).resolve())
    return data
