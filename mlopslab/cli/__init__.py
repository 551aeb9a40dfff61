"""The `mlopslab` command line. Every command takes --lab; most take --json.

A command's module is imported only when that command runs (COMMANDS says which), so
`mlopslab runs ls` loads what listing runs needs and no more; `--help` lists every
command from the short help texts in COMMANDS (tests/cli/test_startup.py keeps them
equal to the commands' own).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
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
    group_class: type[click.Group] | type[type] | None = type  # subgroups: of this class

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


@dataclass(frozen=True)
class Entry:
    """A top-level command: the modules that define it (and its subcommands), and its
    short help as `mlopslab --help` shows it."""

    modules: tuple[str, ...]
    help: str


COMMANDS: dict[str, Entry] = {name: Entry(tuple(modules.split()), text) for name, modules, text in (
    ("alerts", "alerts_cmd", "Open and acknowledged alerts, newest first (`--all`: resolved ones too)."),
    ("artifacts", "artifacts_cmd",
     "Files that runs saved and model versions carry, out of the lab's artifact store."),
    ("budget", "cost_cmd",
     "Per-project and per-user spending limits a UTC day and month (cost by allocation)."),
    ("cancel", "queue_cmd",
     "Cancel queued or running runs (a running one's step is stopped; its GPUs are freed)."),
    ("cost", "cost_cmd",
     "Cost by allocation (what was held) and by use (what was busy), with idle waste."),
    ("decisions", "decisions_cmd",
     "Retraining decisions (of DEPLOYMENT), newest first: why, the run, the new version, "
     "and how it ended (deployed, rejected by its gates, failed)."),
    ("demo", "demo",
     "Make a lab in PATH (default: a new temporary folder), run the bundled recipes, gate "
     "and promote a model, deploy it blue/green, query it and roll it back."),
    ("deploy", "deploy_cmd", "Serve model REF (NAME, NAME@N, NAME:ALIAS) behind a stable endpoint."),
    ("deployments", "deploy_cmd", "Deployments: endpoint, versions, health, traffic, latency."),
    ("drift", "drift_cmd",
     "Drift of DEPLOYMENT's inputs from its model's training data: per feature PSI and KS "
     "(numeric) or chi-square (categorical) in the latest window, with the largest value each "
     "may take without drifting (MAX) and the smallest p-value (P); the last windows; drifting "
     "when k of the last n windows drifted ([drift])."),
    ("feedback", "decisions_cmd", "Score labelled rows with DEPLOYMENT's active version."),
    ("gate", "models_cmd",
     "Run the gates of version REF against the champion; exit 0 on pass, 1 on fail (for CI)."),
    ("gpu", "gpu_cmd",
     "GPUs (utilization, memory, power, temperature) and their processes with owners."),
    ("import", "import_cmd", "Bring another tracker's history into the lab."),
    ("lab", "lab_cmd", "Start, inspect and stop the lab service (it starts on demand anyway)."),
    ("lineage", "models_cmd",
     "What REF came from and what came of it: data <-> runs <-> model versions <-> gate "
     "reports and deployments."),
    ("mlflow-server", "mlflow_cmd",
     "Serve MLflow's tracking REST API for this lab on 127.0.0.1 until Ctrl-C."),
    ("models", "models_cmd evalset_cmd artifacts_cmd", "Model versions, aliases and their history."),
    ("promote", "models_cmd",
     "Make REF the champion if its latest gate report passes (gates run when needed); exit 1 "
     "if refused."),
    ("queue", "queue_cmd",
     "Waiting and running runs; waiting ones in the order they will start, with why each waits."),
    ("quota", "queue_cmd",
     "Per-project and per-user limits: concurrent GPUs and runs, GPU-hours a day, time limit."),
    ("rollback", "deploy_cmd",
     "Send deployment NAME's traffic back to its previous version (still warm) at once."),
    ("run", "run_cmd",
     "Run the recipe in folder RECIPE (or a Python script) on Ray and follow it to the end."),
    ("runs", "runs_cmd", "List and inspect runs."),
    ("tui", "tui_cmd", "Open the terminal UI over the lab (keys: ? for help, 1-9 screens, q quits)."),
    ("undeploy", "deploy_cmd",
     "Stop deployment NAME: its endpoint and every replica (history stays in the lab)."),
)}
"""Every top-level command but `init` (defined here), by name."""


class Root(Group):
    """The `mlopslab` group: it imports a command's modules when the command is used."""

    group_class = Group  # its subgroups are plain groups

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            for module in COMMANDS[cmd_name].modules:
                importlib.import_module(f"mlopslab.cli.{module}")
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS and args[0] not in self.commands:
            # an unknown command: click suggests the closest of all of them
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists them, from COMMANDS for those not imported."""
        listed = [(name, self.commands.get(name) or click.Command(name, help=COMMANDS[name].help))
                  for name in self.list_commands(ctx)]
        listed = [(name, command) for name, command in listed if not command.hidden]
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in listed])


@click.group(cls=Root, context_settings=CONTEXT, invoke_without_command=True)
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
    from mlopslab.cli.json_output import print_json
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

