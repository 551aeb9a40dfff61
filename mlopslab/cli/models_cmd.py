"""`mlopslab models ...`, `mlopslab gate`, `mlopslab promote`, `mlopslab lineage`."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from mlopslab.cli import cli, client_of
from mlopslab.core.errors import MlopslabError, NotFound

JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
CHAMPION = "champion"


class InputError(MlopslabError):
    """A request these commands refuse before asking the service (exit 2, bad input)."""

    exit_code = 2



def _abs(path: str | None, option: str | None = None) -> str | None:
    """The absolute path of a file option; with `option`, the file must exist."""
    if not path:
        return None
    if option and not Path(path).is_file():
        what = "is a folder" if Path(path).is_dir() else "does not exist"
        raise InputError(f"{option} {path}: {what}", f"give {option} an existing file")
    return str(Path(path).resolve())


def _file(path: str, option: str) -> str:
    """The absolute path of a required file option that must exist."""
    found = _abs(path, option)
    assert found is not None
    return found


def _not_champion(alias: str, ref: str) -> None:
    if alias == CHAMPION:
        raise InputError(f"'{CHAMPION}' moves only through `mlopslab promote`",
                         f"run `mlopslab promote {ref}` (it runs the gates first); to override "
                         f"failing gates: `mlopslab promote {ref} --force --reason \"...\"`")


@cli.group()
def models() -> None:
    """Model versions, aliases and their history."""


@models.command("ls")
@click.argument("name", required=False)
@JSON
@click.pass_context
def ls(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """List models, or the versions of model NAME (newest first)."""
    from mlopslab.cli.output import console, print_json
    from mlopslab.cli.registry_view import models_table, versions_table

    if name:
        versions = client_of(ctx).models.versions(name=name)
        print_json(versions) if as_json else console.print(versions_table(versions))
        return
    found = client_of(ctx).models.list()
    if as_json:
        print_json(found)
    elif not found:
        click.echo("no models yet: register one with `mlopslab models register RUN_ID --name NAME`")
    else:
        console.print(models_table(found))


@models.command()
@click.argument("ref")
@JSON
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """One version (NAME@N, NAME:ALIAS or NAME): metadata, scores, schema, latest gate report."""
    from mlopslab.cli.output import print_json
    from mlopslab.cli.registry_view import version_detail

    version = client_of(ctx).models.version(ref=ref)
    print_json(version) if as_json else version_detail(version)


@models.command()
@click.argument("run_id", required=False)
@click.option("--name", help="Model name (default: the recipe's [model].register_as).")
@click.option("--file", "file_", type=click.Path(), help="An ONNX file made elsewhere.")
@click.option("--data", type=click.Path(),
              help="Holdout data (CSV/Parquet) to evaluate on; needed with --file.")
@click.option("--target", help="The holdout's label column.")
@click.option("--sensitive", help="A sensitive attribute column (for the bias gate).")
@click.option("--exclude", multiple=True, help="A holdout column that is no model input.")
@click.option("--train-data", type=click.Path(),
              help="The data the file's model was trained on (its hash is recorded).")
@click.option("--primary", help="The score that ranks versions (default: accuracy or rmse).")
@click.option("--gates", type=click.Path(), help="Gates (TOML) to keep with the version.")
@JSON
@click.pass_context
def register(ctx: click.Context, run_id: str | None, name: str | None, file_: str | None,
             data: str | None, target: str | None, sensitive: str | None,
             exclude: tuple[str, ...], train_data: str | None, primary: str | None,
             gates: str | None, as_json: bool) -> None:
    """Register a run's model (RUN_ID) or an ONNX file (--file) as a new version."""
    from mlopslab.cli.output import print_json

    user = getpass.getuser()
    if file_:
        missing = [o for o, v in (("--name", name), ("--data", data), ("--target", target)) if not v]
        if run_id or missing:
            raise InputError("--file takes no RUN_ID and needs --name, --data and --target"
                             + (f" (missing: {', '.join(missing)})" if missing else ""),
                             "e.g. `mlopslab models register --file model.onnx --name churn "
                             "--data holdout.csv --target label`")
        assert name and data and target
        version = client_of(ctx).models.register_file(
            path=_file(file_, "--file"), name=name, data=_file(data, "--data"), target=target,
            sensitive=sensitive, exclude=list(exclude), train_data=_abs(train_data, "--train-data"),
            primary=primary, actor=user, gates=_abs(gates, "--gates"))
    elif run_id:
        version = client_of(ctx).models.register_run(run_id=run_id, name=name, actor=user,
                                                      data=_abs(data, "--data"), target=target)
    else:
        raise InputError("give a RUN_ID, or --file with --name, --data and --target",
                         "`mlopslab runs ls` lists the runs; see `mlopslab models register -h`")
    if as_json:
        print_json(version)
        return
    state = "registered" if version.created else "already registered as"
    scores = " ".join(f"{k}={v:.4g}" for k, v in (version.scores or {}).items())
    click.echo(f"{state} {version.ref}  sha256:{version.sha256[:12]}  {scores}")


@models.group()
def alias() -> None:
    """Point user aliases at versions (champion moves only by `mlopslab promote`)."""


@alias.command("set")
@click.argument("ref")
@click.argument("alias_name", metavar="ALIAS")
@click.option("--reason", help="Why (kept in the alias history).")
@JSON
@click.pass_context
def alias_set(ctx: click.Context, ref: str, alias_name: str, reason: str | None, as_json: bool) -> None:
    """Point ALIAS of the model at version REF (e.g. `churn@3 staging`)."""
    from mlopslab.cli.output import print_json

    _not_champion(alias_name, ref)
    version = client_of(ctx).models.set_alias(ref=ref, alias=alias_name, actor=getpass.getuser(), reason=reason)
    print_json(version) if as_json else click.echo(f"{version.name}:{alias_name} -> {version.version}")


@alias.command("rm")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.option("--reason", help="Why (kept in the alias history).")
@click.pass_context
def alias_rm(ctx: click.Context, name: str, alias_name: str, reason: str | None) -> None:
    """Remove ALIAS from model NAME."""
    if alias_name == CHAMPION:
        raise InputError(f"'{CHAMPION}' cannot be removed, only moved by `mlopslab promote`",
                         f"promote another version: `mlopslab promote {name}@VERSION`")
    client_of(ctx).models.remove_alias(name=name, alias=alias_name, actor=getpass.getuser(), reason=reason)
    click.echo(f"{name}:{alias_name} removed")


@models.command()
@click.argument("name")
@click.option("--alias", "alias_name", help="Only this alias.")
@click.option("--at", metavar="TIME", help="Which version the alias (default: champion) had at "
              "TIME: ISO 8601 (no zone: local time), now, today, yesterday, or an age (2h, 3d ago).")
@JSON
@click.pass_context
def history(ctx: click.Context, name: str, alias_name: str | None, at: str | None,
            as_json: bool) -> None:
    """Every alias move of model NAME: from, to, who, when, why."""
    from mlopslab.cli.output import console, local_time, print_json
    from mlopslab.cli.registry_view import history_table
    from mlopslab.core.refs import parse_time
    from mlopslab.core.registry import AliasHistoryAt

    when = parse_time(at, datetime.now(UTC)).isoformat() if at else None
    result = client_of(ctx).models.alias_history(name=name, alias=alias_name, at=when)
    if alias_name and not result.history:
        aliases = {h.alias for h in client_of(ctx).models.alias_history(name=name).history}
        raise NotFound(f"model '{name}' never had an alias '{alias_name}'",
                       f"its aliases, then and now: {', '.join(sorted(aliases)) or 'none'}")
    if as_json:
        print_json(result)
    elif isinstance(result, AliasHistoryAt):
        version = result.version
        click.echo(f"{name}:{result.alias} at {at} ({local_time(result.at)}): "
                   + (f"version {version}" if version is not None else "pointed at no version"))
    else:
        console.print(history_table(result.history))


@cli.command()
@click.argument("ref")
@click.option("--gates", type=click.Path(), help="Gates file (TOML) to use instead "
              "of the lab's gates.toml or the recipe's [gates].")
@click.option("--data", type=click.Path(), help="Holdout data to use instead of the version's.")
@JSON
@click.pass_context
def gate(ctx: click.Context, ref: str, gates: str | None, data: str | None, as_json: bool) -> None:
    """Run the gates of version REF against the champion; exit 0 on pass, 1 on fail (for CI)."""
    from mlopslab.cli.output import print_json
    from mlopslab.cli.registry_view import report_detail

    report = client_of(ctx).models.gate(ref=ref, actor=getpass.getuser(), gates=_abs(gates, "--gates"),
                                        data=_abs(data, "--data"))
    print_json(report) if as_json else report_detail(report)
    sys.exit(0 if report.passed else 1)


@cli.command()
@click.argument("ref")
@click.option("--force", is_flag=True, help="Promote even though the gates fail (audited).")
@click.option("--reason", help="Why (required with --force; kept in the alias history).")
@click.option("--gates", type=click.Path(), help="Gates file to run with.")
@JSON
@click.pass_context
def promote(ctx: click.Context, ref: str, force: bool, reason: str | None, gates: str | None,
            as_json: bool) -> None:
    """Make REF the champion if its latest gate report passes (gates run when needed); exit 1 if refused."""
    from mlopslab.cli.output import print_json
    from mlopslab.cli.registry_view import report_detail
    from mlopslab.core.registry import GatedPromotion

    if force and not (reason and reason.strip()):
        raise InputError("--force needs --reason: an override is audited",
                         f"`mlopslab promote {ref} --force --reason \"why the gates may be overridden\"`")
    result = client_of(ctx).models.promote(ref=ref, actor=getpass.getuser(), force=force, reason=reason,
                   gates=_abs(gates, "--gates"))
    if as_json:
        print_json(result)
    else:
        if isinstance(result, GatedPromotion) and result.report and not result.promoted:
            report_detail(result.report)
        if result.promoted:
            click.secho(f"{result.ref} is now champion (was {result.from_version or 'none'})"
                        + ("  [forced]" if result.forced else ""), fg="green")
        else:
            click.secho(f"{result.ref} not promoted: {result.why}", fg="red", err=True)
    already = not result.promoted and result.from_version == result.version
    sys.exit(0 if result.promoted or already else 1)


@cli.command()
@click.argument("ref")
@JSON
@click.pass_context
def lineage(ctx: click.Context, ref: str, as_json: bool) -> None:
    """What REF came from and what came of it: data <-> runs <-> model versions <-> gate
    reports and deployments.

    REF: model:NAME@N, model:NAME:ALIAS, run:ID, data:HASH, gate:ID, deployment:NAME.
    """
    from mlopslab.cli.output import print_json
    from mlopslab.cli.registry_view import lineage_view
    from mlopslab.core.refs import KINDS

    try:
        graph = client_of(ctx).models.lineage(ref=ref)
    except NotFound as e:
        kind = ref.partition(":")[0]
        if ":" in ref and kind not in KINDS and e.message == f"no model '{kind}'":
            raise NotFound(e.message, f"{e.hint}; or start REF with one of: "
                           f"{', '.join(k + ':' for k in KINDS)}") from None
        raise
    print_json(graph) if as_json else lineage_view(graph)
