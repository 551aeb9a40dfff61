"""`mlopslab run`: submit a recipe run (or a sweep) and follow it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mlopslab.cli import cli, lab_of
from mlopslab.core.errors import RecipeError


class _RunCommand(click.Command):
    """`run`, whose bad options are one line and a hint too (not click's usage text)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.BadParameter as e:
            flag = e.param.opts[-1] if e.param is not None and e.param.opts else "option"
            help_text = getattr(e.param, "help", None) or f"see mlopslab {ctx.info_name} -h"
            raise RecipeError(f"{flag}: {e.message.rstrip('.')}", help_text) from None
        except click.UsageError as e:
            raise RecipeError(e.format_message().rstrip("."),
                              f"see mlopslab {ctx.info_name} -h") from None


@cli.command(cls=_RunCommand)
@click.argument("recipe", required=False, type=click.Path())
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a param.")
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=A,B,C",
              help="One run per value (several --sweep: the cartesian product).")
@click.option("--seed", type=int, help="Seed, 0 to 4294967295 (default: the recipe's).")
@click.option("--data", "data", multiple=True, metavar="NAME=PATH",
              help="Use another file for a data input.")
@click.option("--project", help="Project (default: the lab's default project).")
@click.option("--user", help="User the run is accounted to (default: the OS user).")
@click.option("--cpus", type=float, help="CPUs per step (default: the recipe's).")
@click.option("--gpus", type=float, help="GPUs per step, fractions allowed (0.5).")
@click.option("--gpu-memory", "gpu_memory_gb", type=float, metavar="GB",
              help="GPU memory limit; a run over it is killed.")
@click.option("--memory", "memory_gb", type=float, metavar="GB",
              help="Host memory per step (Ray placement); a run over it is killed.")
@click.option("--time-limit", metavar="DURATION",
              help="Stop the run this long after it starts running, e.g. 90s, 30m, 1h30m.")
@click.option("--priority", type=int, default=0, show_default=True,
              help="Queue priority: higher starts first.")
@click.option("--ray-address", metavar="HOST:PORT",
              help="Run on this Ray cluster instead of the lab's (config ray.address or local).")
@click.option("--detach", is_flag=True, help="Return once submitted; the run goes on.")
@click.option("--from-scratch", is_flag=True, help="Ignore cached step outputs.")
@click.option("--resume", "resume_id", metavar="RUN_ID",
              help="Rerun a failed, timed-out or killed run as it was, starting at its "
                   "unfinished step (with RECIPE: only the run's own).")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run(s) as JSON.")
@click.pass_context
def run(ctx: click.Context, recipe: str | None, **opts: Any) -> None:
    """Run the recipe in folder RECIPE on Ray and follow it to the end.

    A run waits in the queue while its project's or user's quota or the cluster is
    full (`mlopslab queue` says why). Ctrl-C stops following; the run goes on.

    Exit code: 0 finished, 1 failed, 3 when its data fails validation, 6 when Ray
    cannot be reached, 124 timed out, 137 killed (over a memory limit), 130
    cancelled or Ctrl-C (the run goes on); before anything runs: 2 for a bad recipe,
    override or option, 7 for an unknown --resume run, 8 for a request that can
    never fit.
    """
    from mlopslab.cli.follow import finish
    from mlopslab.service.client import LabClient

    lab = lab_of(ctx)
    if opts["resume_id"]:
        _refuse_changes_on_resume(ctx)
        with LabClient(lab) as client:
            runs, after = resume(client, lab, opts["resume_id"], recipe, opts["from_scratch"])
            finish(client, runs, detach=opts["detach"], as_json=opts["as_json"], after=after)
        return
    if recipe is None:
        raise RecipeError("give a RECIPE folder, or --resume RUN_ID",
                          "e.g. mlopslab run recipes/tabular-classifier (mlopslab run -h)")
    specs = build_specs(lab, recipe, opts)  # every check before the service is asked
    with LabClient(lab) as client:
        finish(client, submit(client, specs), detach=opts["detach"], as_json=opts["as_json"])


def submit(client: Any, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Submit each spec; on Ctrl-C, say which runs were submitted (they go on) and exit."""
    from mlopslab.cli.follow import interrupted

    runs: list[dict[str, Any]] = []
    try:
        for spec in specs:
            runs.append(client.call("submit_run", spec=spec))
    except KeyboardInterrupt:
        interrupted(runs)
    return runs


RESUME_KEEPS = {"resume_id", "recipe", "detach", "from_scratch", "as_json"}


def _refuse_changes_on_resume(ctx: click.Context) -> None:
    """A resume reruns the run as it was: options that would change it are refused."""
    given = [p for p in ctx.command.params if p.name not in RESUME_KEEPS and p.name
             and ctx.get_parameter_source(p.name) not in (None, ParameterSource.DEFAULT)]
    if given:
        flags = ", ".join(p.opts[-1] for p in given)
        raise RecipeError(f"--resume reruns a run as it was; {flags} cannot change it",
                          "leave it out, or start a new run: mlopslab run RECIPE "
                          + " ".join(p.opts[-1] + " ..." for p in given))


def resume(client: Any, lab: Any, run_id: str, recipe: str | None,
           from_scratch: bool) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Resume a run (its recipe must be RECIPE, when given); the runs to follow and the
    log line each one's new attempt starts after."""
    run = client.call("get_run", run_id=run_id)
    if recipe is not None:
        _same_recipe(lab, recipe, run)
    resumed = client.call("resume_run", run_id=run["id"], options={"from_scratch": from_scratch})
    earlier = [a["last_log_seq"] for a in resumed.get("attempts", [])[:-1]]
    return [resumed], {resumed["id"]: max((s for s in earlier if s is not None), default=-1)}


def _same_recipe(lab: Any, recipe: str, run: dict[str, Any]) -> None:
    folder = _recipe_folder(lab, recipe).resolve()
    if folder != Path(run["recipe_path"]).resolve():
        raise RecipeError(
            f"run {run['id']} is a run of {run['recipe_path']}, not of {folder}",
            f"leave RECIPE out (mlopslab run --resume {run['id']}), or start a new run: "
            f"mlopslab run {recipe}")


SPEC_DEFAULTS: dict[str, Any] = {
    "sets": (), "sweeps": (), "seed": None, "data": (), "project": None, "user": None,
    "cpus": None, "gpus": None, "gpu_memory_gb": None, "memory_gb": None, "time_limit": None,
    "priority": 0, "from_scratch": False, "ray_address": None,
}


SEED_MAX = 2**32 - 1  # numpy and scikit-learn take seeds 0..2**32-1


def build_specs(lab: Any, recipe_arg: str, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate the recipe and every override before anything runs.

    `opts` holds `run`'s options; any left out take their command-line defaults.
    """
    opts = {**SPEC_DEFAULTS, **opts}
    from mlopslab.core.params import expand_sweeps, resolve_params
    from mlopslab.core.recipe import load_recipe

    recipe = load_recipe(_recipe_folder(lab, recipe_arg))
    base = resolve_params(recipe, opts["sets"])
    grid = expand_sweeps(recipe, base, opts["sweeps"])
    common = {
        "recipe": recipe.name, "recipe_path": str(recipe.path),
        "project": opts["project"] or lab.config.lab.default_project,
        "user": opts["user"] or getpass.getuser(),
        "seed": _seed(recipe, opts["seed"]),
        "resources": _resources(recipe, opts), "priority": int(opts["priority"]),
        "options": {"from_scratch": opts["from_scratch"], "data": _data(recipe, opts["data"]),
                    "ray_address": opts["ray_address"]},
    }
    return [{**common, "params": params} for params in grid]


def _seed(recipe: Any, given: int | None) -> int:
    seed = recipe.seed if given is None else given
    if not 0 <= seed <= SEED_MAX:
        where = f"{recipe.path / 'recipe.toml'}: seed {seed}" if given is None else f"--seed {seed}"
        raise RecipeError(f"{where}: a seed is a whole number from 0 to {SEED_MAX}",
                          f"numpy and scikit-learn take seeds from 0 to {SEED_MAX} (2**32 - 1)")
    return int(seed)


def _recipe_folder(lab: Any, arg: str) -> Path:
    path = Path(arg)
    if not path.exists() and (lab.recipes / arg).is_dir():
        return lab.recipes / arg  # a bare name: the lab's recipe of that name
    return path


RESOURCE_FLAGS = {"cpus": "--cpus", "gpus": "--gpus", "gpu_memory_gb": "--gpu-memory",
                  "memory_gb": "--memory", "time_limit": "--time-limit"}


def _resources(recipe: Any, opts: dict[str, Any]) -> dict[str, Any]:
    """The recipe's resources with the options given; a bad option named as written."""
    from pydantic import ValidationError

    from mlopslab.core.durations import FORMS, parse_duration
    from mlopslab.core.recipe import Resources

    merged = recipe.resources.model_dump()
    for key in RESOURCE_FLAGS:
        if opts[key] is not None:
            merged[key] = opts[key]
    limit = opts["time_limit"]
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
        Resources.model_validate(merged)
    except ValidationError as e:
        problem = e.errors()[0]
        key = str(problem["loc"][0]) if problem["loc"] else ""
        message = _plain(problem["msg"])
        if key in RESOURCE_FLAGS and opts[key] is not None:
            raise RecipeError(f"{RESOURCE_FLAGS[key]} {opts[key]:g}: {message}",
                              _RESOURCE_HINTS.get(key)) from None
        raise RecipeError(f"{recipe.path / 'recipe.toml'}: resources.{key}: {message}",
                          "see docs/recipes.md for the format") from None
    return merged


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
