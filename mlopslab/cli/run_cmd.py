"""`mlopslab run`: submit a recipe run (or a sweep) and follow it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click

from mlopslab.cli import cli, lab_of
from mlopslab.core.errors import RecipeError


@cli.command()
@click.argument("recipe", required=False, type=click.Path())
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a param.")
@click.option("--sweep", "sweeps", multiple=True, metavar="KEY=A,B,C",
              help="One run per value (several --sweep: the cartesian product).")
@click.option("--seed", type=int, help="Seed (default: the recipe's).")
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
@click.option("--time-limit", help="Stop the run this long after it starts running, e.g. 30m.")
@click.option("--priority", type=int, default=0, show_default=True,
              help="Queue priority: higher starts first.")
@click.option("--ray-address", metavar="HOST:PORT",
              help="Run on this Ray cluster instead of the lab's (config ray.address or local).")
@click.option("--detach", is_flag=True, help="Return once submitted; the run goes on.")
@click.option("--from-scratch", is_flag=True, help="Ignore cached step outputs.")
@click.option("--resume", "resume_id", metavar="RUN_ID",
              help="Rerun a failed run, starting at its failed step.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run(s) as JSON.")
@click.pass_context
def run(ctx: click.Context, recipe: str | None, **opts: Any) -> None:
    """Run the recipe in folder RECIPE on Ray and follow it to the end.

    A run waits in the queue while its project's or user's quota or the cluster is
    full (`mlopslab queue` says why). Exit code: 0 finished, 1 failed, 124 timed
    out, 130 cancelled, 137 killed (over a memory limit); 2 for a bad recipe or
    override, or a request that can never fit (nothing runs).
    """
    from mlopslab.cli.follow import finish
    from mlopslab.service.client import LabClient

    lab = lab_of(ctx)
    with LabClient(lab) as client:
        if opts["resume_id"]:
            runs = [client.call("resume_run", run_id=opts["resume_id"],
                                options={"from_scratch": opts["from_scratch"]})]
        else:
            if recipe is None:
                raise RecipeError("give a RECIPE folder, or --resume RUN_ID")
            runs = [client.call("submit_run", spec=s) for s in build_specs(lab, recipe, opts)]
        finish(client, runs, detach=opts["detach"], as_json=opts["as_json"])


SPEC_DEFAULTS: dict[str, Any] = {
    "sets": (), "sweeps": (), "seed": None, "data": (), "project": None, "user": None,
    "cpus": None, "gpus": None, "gpu_memory_gb": None, "memory_gb": None, "time_limit": None,
    "priority": 0, "from_scratch": False, "ray_address": None,
}


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
        "seed": recipe.seed if opts["seed"] is None else opts["seed"],
        "resources": _resources(recipe, opts), "priority": int(opts["priority"]),
        "options": {"from_scratch": opts["from_scratch"], "data": _data(recipe, opts["data"]),
                    "ray_address": opts["ray_address"]},
    }
    return [{**common, "params": params} for params in grid]


def _recipe_folder(lab: Any, arg: str) -> Path:
    path = Path(arg)
    if not path.exists() and (lab.recipes / arg).is_dir():
        return lab.recipes / arg  # a bare name: the lab's recipe of that name
    return path


def _resources(recipe: Any, opts: dict[str, Any]) -> dict[str, Any]:
    from mlopslab.core.durations import parse_duration
    from mlopslab.core.recipe import Resources

    merged = recipe.resources.model_dump()
    for key in ("cpus", "gpus", "gpu_memory_gb", "memory_gb", "time_limit"):
        if opts[key] is not None:
            merged[key] = opts[key]
    try:
        Resources.model_validate(merged)
        if merged["time_limit"]:
            parse_duration(str(merged["time_limit"]))
    except ValueError as e:
        raise RecipeError(f"resources: {e}") from e
    return merged


def _data(recipe: Any, pairs: tuple[str, ...]) -> dict[str, str]:
    data = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or name not in recipe.data:
            raise RecipeError(f"--data {pair!r}: expected NAME=PATH with NAME one of "
                              f"{sorted(recipe.data)}")
        if not Path(path).exists():
            raise RecipeError(f"--data {name}: {path} does not exist")
        data[name] = str(Path(path).resolve())
    return data
