"""`mlopslab run`: submit a recipe run (or a sweep), or a plain Python script, and follow it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from mlopslab.cli import cli, lab_of
from mlopslab.core.errors import RecipeError
from mlopslab.runspecs import RunOptions, build_script_spec, build_specs, recipe_folder

if TYPE_CHECKING:
    from mlopslab.client import LabClient
    from mlopslab.core.run import Run, RunSpec


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
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
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
def run(ctx: click.Context, recipe: str | None, script_args: tuple[str, ...], **opts: Any) -> None:
    """Run the recipe in folder RECIPE (or a Python script) on Ray and follow it to the end.

    RECIPE may be a Python script instead (`mlopslab run train.py --gpus 1 -- --lr 0.1`):
    it runs as one step in a Ray task with the resources asked for (1 CPU by
    default), its output is the run's logs, the arguments after -- are its own, and
    the tracking API inside it (`mlopslab.log_metric`, ...) logs into this run.

    A run waits in the queue while its project's or user's quota or the cluster is
    full (`mlopslab queue` says why). Ctrl-C stops following; the run goes on.

    Exit code: 0 finished, 1 failed, 3 when its data fails validation, 6 when Ray
    cannot be reached, 124 timed out, 137 killed (over a memory limit), 130
    cancelled or Ctrl-C (the run goes on); before anything runs: 2 for a bad recipe,
    override or option, 7 for an unknown --resume run, 8 for a request that can
    never fit.
    """
    from mlopslab.cli.follow import finish
    from mlopslab.client import LabClient

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
    if recipe.endswith(".py"):
        specs = [build_script_spec(lab, recipe, RunOptions.of(opts), script_args)]
    elif script_args:
        raise RecipeError(f"a recipe takes no arguments ({' '.join(script_args)})",
                          "set its params with --set KEY=VALUE; arguments after -- are a script's")
    else:
        specs = build_specs(lab, recipe, RunOptions.of(opts))  # every check before the service is asked
    with LabClient(lab) as client:
        finish(client, submit(client, specs), detach=opts["detach"], as_json=opts["as_json"])


def submit(client: LabClient, specs: list[RunSpec]) -> list[Run]:
    """Submit each spec; on Ctrl-C, say which runs were submitted (they go on) and exit."""
    from mlopslab.cli.follow import interrupted

    runs: list[Run] = []
    try:
        for spec in specs:
            runs.append(client.runs.submit(spec=spec))
    except KeyboardInterrupt:
        interrupted(runs)
    return runs


RESUME_KEEPS = {"resume_id", "recipe", "script_args", "detach", "from_scratch", "as_json"}


def _refuse_changes_on_resume(ctx: click.Context) -> None:
    """A resume reruns the run as it was: options that would change it are refused."""
    given = [p for p in ctx.command.params if p.name not in RESUME_KEEPS and p.name
             and ctx.get_parameter_source(p.name) not in (None, ParameterSource.DEFAULT)]
    if given:
        flags = ", ".join(p.opts[-1] for p in given)
        raise RecipeError(f"--resume reruns a run as it was; {flags} cannot change it",
                          "leave it out, or start a new run: mlopslab run RECIPE "
                          + " ".join(p.opts[-1] + " ..." for p in given))


def resume(client: LabClient, lab: Any, run_id: str, recipe: str | None,
           from_scratch: bool) -> tuple[list[Run], dict[str, int]]:
    """Resume a run (its recipe must be RECIPE, when given); the runs to follow and the
    log line each one's new attempt starts after."""
    run = client.runs.get(run_id=run_id)
    if recipe is not None:
        _same_recipe(lab, recipe, run)
    resumed = client.runs.resume(run_id=run.id, from_scratch=from_scratch)
    earlier = [a.last_log_seq for a in (resumed.attempts or ())[:-1]]
    return [resumed], {resumed.id: max((s for s in earlier if s is not None), default=-1)}


def _same_recipe(lab: Any, recipe: str, run: Run) -> None:
    folder = recipe_folder(lab, recipe).resolve()
    if folder != Path(run.recipe_path).resolve():
        raise RecipeError(
            f"run {run.id} is a run of {run.recipe_path}, not of {folder}",
            f"leave RECIPE out (mlopslab run --resume {run.id}), or start a new run: "
            f"mlopslab run {recipe}")
