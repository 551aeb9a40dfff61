"""`mlopslab mlflow-server`: MLflow's tracking API over this lab, on 127.0.0.1, for code
that already calls `mlflow` (docs/mlflow.md). Needs `pip install "mlopslab[mlflow]"`."""

from __future__ import annotations

import socket

import click

from mlopslab.cli import cli, lab_of
from mlopslab.core.errors import MlopslabError


@cli.command("mlflow-server")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Port on 127.0.0.1 (0: a free one, printed).")
@click.pass_context
def mlflow_server(ctx: click.Context, port: int) -> None:
    """Serve MLflow's tracking REST API for this lab on 127.0.0.1 until Ctrl-C.

    Unmodified MLflow code logs into the lab with MLFLOW_TRACKING_URI set to the
    printed address and MLFLOW_TRACKING_TOKEN to the lab's token: experiments are
    projects; runs, params, metrics, tags and artifacts are the lab's own.
    """
    try:
        import uvicorn

        from mlopslab.mlflow_compat.app import make_app
    except ImportError as e:
        raise MlopslabError(f"the MLflow server needs the mlflow extra ({e.name} is missing)",
                            'pip install "mlopslab[mlflow]"') from None
    from mlopslab.client import LabClient

    lab = lab_of(ctx)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as e:
        raise MlopslabError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}",
                            "pick another --port (0: any free one)") from None
    address = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with LabClient(lab) as client:
        app = make_app(lab, client, lab.token("mlflow"))
        click.echo(f"MLflow tracking API of lab {lab.root} on {address}")
        click.echo(f"  export MLFLOW_TRACKING_URI={address}")
        click.echo(f"  export MLFLOW_TRACKING_TOKEN=$(cat {lab.state / 'mlflow.token'})", nl=True)
        click.echo("Ctrl-C stops it.", err=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        server.run(sockets=[listener])
