"""`mlopslab deploy`, `mlopslab deployments ls|show`, `mlopslab rollback`, `mlopslab undeploy`."""

from __future__ import annotations

import getpass
from typing import Any

import click

from mlopslab.cli import cli, client_of
from mlopslab.core.deployments import Deployment, DeploymentDetail, ServingOptions, WatchPolicy
from mlopslab.deploy.events import describe

JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")



def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@cli.command()
@click.argument("ref")
@click.option("--name", help="Deployment name (default: the model name). An existing one gets a blue/green update.")
@click.option("--backend", type=click.Choice(["process", "docker"]), default="process", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port of the stable endpoint on 127.0.0.1 (default: a free one).")
@click.option("--image", help="docker: serving image (default: built offline from docker/Dockerfile.offline).")
@click.option("--gpus", type=int, help="docker: GPUs to request (-1: all).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="ONNX Runtime device (default auto).")
@click.option("--memory-mb", type=int, help="docker: memory limit (default 1024).")
@click.option("--cpus", type=float, help="docker: CPU limit (default 1).")
@click.option("--max-batch-size", type=int, help="Rows per ONNX Runtime call; 1 turns batching off (default 32).")
@click.option("--max-wait-ms", type=float, help="Batching window (default 2).")
@click.option("--max-queue", type=int, help="Requests waiting or running before 503 (default 256).")
@click.option("--sample-rate", type=click.FloatRange(0, 1),
              help="Share of input rows kept for the drift checks; 0 turns sampling off (default 1).")
@click.option("--watch", "watch_s", type=float, help="Seconds the new version is watched (default 60).")
@click.option("--max-error-rate", type=float, help="Roll back above this 5xx rate while watched (default 0.05).")
@click.option("--p99-ms", type=float, help="Roll back above this p99 latency while watched (default: none).")
@JSON
@click.pass_context
def deploy(ctx: click.Context, ref: str, name: str | None, backend: str, port: int | None, image: str | None,
           gpus: int | None, device: str | None, memory_mb: int | None, cpus: float | None,
           max_batch_size: int | None, max_wait_ms: float | None, max_queue: int | None,
           sample_rate: float | None, watch_s: float | None, max_error_rate: float | None,
           p99_ms: float | None, as_json: bool) -> None:
    """Serve model REF (NAME, NAME@N, NAME:ALIAS) behind a stable endpoint.

    The new version starts beside the current one and takes traffic only once ready;
    the previous one stays warm for `mlopslab rollback`.
    """
    options = ServingOptions(**_given(gpus=gpus, device=device, memory_mb=memory_mb, cpus=cpus,
                                      max_batch_size=max_batch_size, max_wait_ms=max_wait_ms,
                                      max_queue=max_queue, sample_rate=sample_rate))
    watch = WatchPolicy(**_given(window_s=watch_s, max_error_rate=max_error_rate, p99_ms=p99_ms))
    shown = client_of(ctx).deployments.deploy(ref=ref, name=name, backend=backend, port=port, image=image,
                                              actor=getpass.getuser(), options=options, watch=watch)
    if not as_json:
        click.echo(f"{shown.name}: {shown.model}@{shown.active_version} takes traffic at {shown.endpoint}")
        warm = f" (v{shown.previous_version} stays warm)" if shown.previous_version else ""
        click.echo(f"  call this endpoint: it stays the same across updates and rollbacks{warm}")
    _show(shown, as_json)


@cli.group()
def deployments() -> None:
    """Deployments: endpoint, versions, health, traffic, latency."""


@deployments.command("ls")
@JSON
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """Every deployment with its active and previous version."""
    from mlopslab.cli.output import console, print_json

    found = client_of(ctx).deployments.list()
    if as_json:
        print_json(deployment_json(found))
        return
    if not found:
        click.echo("no deployments: make one with `mlopslab deploy MODEL[@VERSION]`")
        return
    console.print(_table(found))


@deployments.command("show")
@click.argument("name")
@JSON
@click.pass_context
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """One deployment: replicas, traffic and latency per version, recent events."""
    _show(client_of(ctx).deployments.get(name=name), as_json)


@cli.command()
@click.argument("name")
@click.option("--reason", help="Why (kept in the deployment's history).")
@JSON
@click.pass_context
def rollback(ctx: click.Context, name: str, reason: str | None, as_json: bool) -> None:
    """Send deployment NAME's traffic back to its previous version (still warm) at once."""
    from mlopslab.cli.output import print_json

    result = client_of(ctx).deployments.rollback(name=name, actor=getpass.getuser(), reason=reason)
    if as_json:
        print_json(deployment_json(result))
        return
    click.echo(f"{name}: version {result.active_version} takes traffic again "
               f"(switched in {result.rollback_s * 1000:.1f} ms); {result.previous_version} stays warm")


@cli.command()
@click.argument("name")
@JSON
@click.pass_context
def undeploy(ctx: click.Context, name: str, as_json: bool) -> None:
    """Stop deployment NAME: its endpoint and every replica (history stays in the lab)."""
    from mlopslab.cli.output import print_json

    result = client_of(ctx).deployments.undeploy(name=name, actor=getpass.getuser())
    if as_json:
        print_json(result)
    else:
        click.echo(f"{name}: undeployed")


HEALTH_COLOURS = {"starting": "yellow", "endpoint down": "red", "active down": "red", "watching": "yellow",
                  "serving": "green"}


def _table(found: list[Deployment]) -> Any:
    from mlopslab.cli.output import Col, Grid, Role

    table = Grid([Col("NAME"), Col("MODEL", Role.DROP, rank=2), Col("BACKEND", Role.DROP), Col("ENDPOINT"),
                  Col("ACTIVE"), Col("PREVIOUS", Role.DROP, rank=1), Col("HEALTH"),
                  Col("REQUESTS", justify="right"), Col("P99 MS", justify="right")], title="deployments")
    for d in found:
        traffic = d.traffic()
        health = d.health()
        table.add_row(d.name, d.model, d.backend, d.endpoint, d.active_version or "-",
                      d.previous_version or "-", f"[{HEALTH_COLOURS[health]}]{health}[/]", str(traffic.requests),
                      f"{traffic.p99_ms:.1f}" if traffic.p99_ms is not None else "-")
    return table


def _show(shown: Deployment, as_json: bool) -> None:
    from mlopslab.cli.output import console, print_json

    if as_json:
        print_json(deployment_json(shown))
        return
    console.print(_table([shown]))
    if shown.replicas:
        console.print("replicas (internal addresses: a client calling one bypasses blue/green and rollback)")
    for r in shown.replicas:
        console.print(f"  v{r.version:<4} {r.role:<9} {'alive' if r.alive else 'down':<6} "
                      f"{r.backend} {r.handle[:12]:<12}  internal {r.url}", soft_wrap=True)
    events = shown.events[:10] if isinstance(shown, DeploymentDetail) else []
    if events:
        console.print("history (newest first)")
    for e in events:
        console.print(f"  {_when(e.ts)}  {describe(e)}", markup=False, soft_wrap=True)


def deployment_json(value: Deployment | list[Deployment]) -> Any:
    """The documented --json of deployments: the nouns as plain data, except that a replica
    says `restarts` only once supervision has restarted it (as it always has)."""
    from mlopslab.api.wire import plain

    data = plain(value)
    for d in data if isinstance(data, list) else [data]:
        for replica in d["replicas"]:
            if not replica["restarts"]:
                del replica["restarts"]
    return data


def _when(ts: str) -> str:
    from mlopslab.cli.output import local_time

    return local_time(ts)
