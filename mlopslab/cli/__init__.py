"""The `mlopslab` command line. Every command takes --lab; most take --json."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlopslab import __version__
from mlopslab.core.errors import MlopslabError

if TYPE_CHECKING:
    from mlopslab.client import LabClient

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
LAB_HELP = "The lab folder (default: $MLOPSLAB_LAB, else the nearest one above here)."


def _remember_lab(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """`--lab` given after a subcommand: it counts as if given before it."""
    if value is not None:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "lab_path": value}


def _with_lab_option(params: list[click.Parameter]) -> None:
    """Every command and group takes --lab (the root's own reads $MLOPSLAB_LAB too)."""
    if not any("--lab" in getattr(p, "opts", ()) for p in params):
        params.append(click.Option(["--lab"], type=click.Path(file_okay=False), metavar="PATH",
                                   expose_value=False, callback=_remember_lab, help=LAB_HELP))


class UsageError(click.UsageError):
    """click's usage errors (a missing argument, an unknown option or command, a bad value)
    in the one form every error takes: one line and a hint; exit 2."""

    def show(self, file: Any = None) -> None:
        command = self.ctx.command_path if self.ctx else "mlopslab"
        click.secho(f"error: {self.message}", fg="red", err=True)
        click.echo(f"hint: `{command} -h` shows its arguments and options", err=True)


def _one_line(error: click.UsageError, ctx: click.Context) -> click.UsageError:
    from click.exceptions import NoArgsIsHelpError

    if isinstance(error, UsageError | NoArgsIsHelpError):  # a bare group prints its help
        return error
    return UsageError(error.format_message(), error.ctx or ctx)


class _Parsing(click.Command):
    """Takes --lab wherever it stands on the line; usage errors come out in one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _with_lab_option(self.params)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise _one_line(e, ctx) from e


class Command(_Parsing):
    """A subcommand."""


class Group(_Parsing, click.Group):
    """Turns MlopslabError into a one-line message, a hint and the error's exit code;
    its commands and subgroups take --lab too."""

    command_class = Command
    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise _one_line(e, ctx) from e
        except MlopslabError as e:
            click.secho(f"error: {e.message}", fg="red", err=True)
            if e.hint:
                click.echo(f"hint: {e.hint}", err=True)
            sys.exit(e.exit_code)


@click.group(cls=Group, context_settings=CONTEXT, invoke_without_command=True)
@click.version_option(__version__, prog_name="mlopslab")
@click.option("--lab", "lab_path", type=click.Path(file_okay=False), envvar="MLOPSLAB_LAB",
              metavar="PATH", help=LAB_HELP)
@click.pass_context
def cli(ctx: click.Context, lab_path: str | None) -> None:
    """mlopslab: reproducible recipe runs on Ray, tracked in a local DuckDB lab."""
    ctx.obj = {"lab_path": lab_path}
    if ctx.invoked_subcommand is None:
        from mlopslab.cli.tui_cmd import tui

        ctx.invoke(tui)


def lab_of(ctx: click.Context) -> Any:
    from mlopslab.lab import find_lab

    return find_lab(ctx.find_root().obj.get("lab_path"))


def scope_of(project: str | None, user: str | None, example: str) -> tuple[str, str]:
    """("project", P) or ("user", U) from a command's --project/--user, exactly one given."""
    from mlopslab.core.errors import ConfigError

    if bool(project) == bool(user):
        raise ConfigError("give exactly one of --project NAME or --user NAME", f"e.g. `{example}`")
    return ("project", project) if project else ("user", user)  # type: ignore[return-value]


def client_of(ctx: click.Context) -> LabClient:
    """The lab service client of this command, opened once, closed when it ends."""
    from mlopslab.client import LabClient

    root = ctx.find_root()
    client = root.meta.get("mlopslab.client")
    if client is None:
        client = root.meta["mlopslab.client"] = LabClient(lab_of(ctx))
        root.call_on_close(client.close)
    return client


@cli.command()
@click.argument("path", type=click.Path(file_okay=False), default=".")
@click.option("--name", help="Lab name (default: the folder name).")
@click.option("--ray-address", default="", help="Use this Ray cluster instead of a local one.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init(path: str, name: str | None, ray_address: str, as_json: bool) -> None:
    """Make a lab in PATH: config file, store, artifact store and example recipes."""
    from mlopslab.cli.output import print_json
    from mlopslab.lab import init_lab

    lab = init_lab(Path(path), name, ray_address)
    recipes = sorted(p.name for p in lab.recipes.iterdir())
    if as_json:
        print_json({"lab": str(lab.root), "name": lab.config.lab.name,
                    "config": str(lab.root / "mlopslab.toml"), "recipes": recipes})
        return
    click.echo(f"made lab '{lab.config.lab.name}' in {lab.root}")
    click.echo(f"  config   {lab.root / 'mlopslab.toml'}")
    click.echo(f"  recipes  {', '.join(recipes)}")
    click.echo(f"next: cd {path} && mlopslab run recipes/{recipes[0]}")


def main() -> None:
    cli(prog_name="mlopslab")


# the subcommands register themselves on `cli`
from mlopslab.cli import demo, lab_cmd, queue_cmd, run_cmd, runs_cmd, tui_cmd  # noqa: E402, F401, I001
from mlopslab.cli import artifacts_cmd, deploy_cmd, evalset_cmd, models_cmd  # noqa: E402, F401, I001
from mlopslab.cli import alerts_cmd, cost_cmd, gpu_cmd  # noqa: E402, F401, I001
from mlopslab.cli import decisions_cmd, drift_cmd, import_cmd, mlflow_cmd  # noqa: E402, F401, I001
