import click
from flask import current_app
from flask.cli import AppGroup
from rq import SimpleWorker

from portal.orchestration.dispatch import queue, sweep

orchestration = AppGroup("orchestration", help="Operations waiting for servers.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Apply operations: listens on the RQ_QUEUE queue of REDIS_URL.

    A SimpleWorker runs jobs in this process, inside the app context, so that
    one process can keep its SSH connections across jobs.
    """
    q = queue()
    if q is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process")
    sweep()  # pick up what was recorded while no worker or Redis was around
    SimpleWorker([q], connection=q.connection, serializer=q.serializer).work(
        burst=burst, logging_level=current_app.config["LOG_LEVEL"]
    )


@orchestration.command("sweep")
def sweep_command() -> None:
    """Enqueue every server with pending operations (e.g. after Redis was down)."""
    ids = sweep()
    click.echo(f"enqueued {len(ids)} server(s)")
