import dataclasses
import json
import logging
import threading

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from rq import SimpleWorker

from portal.extensions import db
from portal.models import Operation, OpState, Server
from portal.orchestration import certificates, dkim_flow, figures
from portal.orchestration.changes import fold
from portal.orchestration.dispatch import sweep
from portal.orchestration.jobs import apply_server, build, load_objects, pending_ops
from portal.orchestration.metering.schedule import enqueue_due, usage_queue
from portal.orchestration.metrics import totals
from portal.orchestration.proving import sweep_due
from portal.orchestration.queue import queue
from portal.orchestration.script import Script

log = logging.getLogger(__name__)
orchestration = AppGroup("orchestration", help="Operations waiting for servers.")


class Sweeper(threading.Thread):
    """Every SWEEP_INTERVAL: enqueue due retries, work dead workers left, what Redis missed, and the due
    re-checks of domains waiting for proof."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.app = app
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = self.app.config["SWEEP_INTERVAL"]
        while not self.stopped.wait(interval):
            with self.app.app_context():
                try:
                    # One sweep per interval across all workers is enough.
                    q = queue()
                    if q is not None and q.connection.set("hostdeck:sweeping", 1, nx=True, px=int(interval * 1000)):
                        sweep()
                        sweep_due()  # domains waiting for proof whose next look is due
                        certificates.sweep_due()  # certificates to order, renew or try again
                        dkim_flow.sweep_retired()  # rotated DKIM keys whose time is up
                        enqueue_due()  # usage rounds, on their own queue behind the applies
                except Exception:  # a bad sweep must not end the sweeping
                    log.exception("sweep failed")
                    db.session.rollback()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Apply operations: listens on the RQ_QUEUE queue of REDIS_URL.

    A SimpleWorker runs jobs in this process, inside the app context, so that
    one process keeps its SSH connections across jobs. Run it under a
    supervisor (systemd Restart=always); a killed worker's work is redone.
    """
    q = queue()
    if q is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process")
    sweep()  # pick up what was recorded while no worker or Redis was around
    sweeper = None
    if not burst:
        sweeper = Sweeper(current_app._get_current_object())  # type: ignore[attr-defined]  # the app behind the proxy
        sweeper.start()
    try:
        # Applies first: RQ takes from the first queue with work, so a round never delays a change.
        queues = [q, usage_queue() or q]
        SimpleWorker(queues, connection=q.connection, serializer=q.serializer).work(
            burst=burst,
            logging_level=current_app.config["LOG_LEVEL"],
            with_scheduler=False,
        )
    finally:
        if sweeper is not None:
            sweeper.stopped.set()


@orchestration.command("sweep")
def sweep_command() -> None:
    """Enqueue every server with due operations (e.g. after Redis was down), the due re-checks of domains
    waiting for proof, the certificates due and the retired DKIM keys, as the worker's sweeper does."""
    ids = sweep()
    click.echo(f"enqueued {len(ids)} server(s)")
    click.echo(f"looked again at {sweep_due()} domain(s) waiting for proof")
    click.echo(f"handed out {certificates.sweep_due()} certificate(s) to order or renew")
    click.echo(f"dropped {dkim_flow.sweep_retired()} retired DKIM key(s)")


@orchestration.command("apply")
@click.option("--server", "server_name", help="Only this server.")
@click.option("--dry-run", is_flag=True, help="Print the scripts that would run, secrets redacted; change nothing.")
def apply_command(server_name: str | None, dry_run: bool) -> None:
    """Apply pending operations now, in this process (or show them with --dry-run)."""
    query = (
        sa.select(Server)
        .where(Server.id.in_(sa.select(Operation.server_id).where(Operation.state == OpState.PENDING)))
        .order_by(Server.name)
    )
    if server_name:
        query = query.where(Server.name == server_name)
    for server in db.session.scalars(query).all():
        if not dry_run:
            result = apply_server(server.id)
            click.echo(f"# {server.name}: log {result['log']} {result.get('state', 'nothing due')}")
            continue
        ops = pending_ops(server.id)
        script = Script()
        changes = fold(ops)
        build(script, server, changes, load_objects(changes))
        click.echo(f"# {server.name}: {len(ops)} operation(s)")
        click.echo(script.redacted())
    db.session.rollback()  # a dry run changes nothing


@orchestration.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def status_command(as_json: bool) -> None:
    """How the work stands: what /metrics says, for a shell."""
    found = figures.read()
    counted = totals()
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({**dataclasses.asdict(found), "processes": counted}, indent=2))
        return
    click.echo("operations: " + ", ".join(f"{n} {state}" for state, n in found.operations.items()))
    if found.queue_error:
        click.echo(f"queue: cannot tell, {found.queue_error}")
    elif found.queued is None:
        click.echo("queue: none (no REDIS_URL: jobs run in the web process)")
    else:
        click.echo(f"queue: {found.queued} job(s) waiting in {current_app.config['RQ_QUEUE']}")
    oldest = f"{found.oldest_pending_s:.0f} s" if found.operations["pending"] else "none pending"
    click.echo(f"oldest pending operation: {oldest}")
    click.echo(f"open incidents: {found.open_incidents}")
    if counted is None:
        click.echo("processes: each counts for itself (set PROMETHEUS_MULTIPROC_DIR to see them summed here)")
        return
    click.echo(f"requests answered: {counted['requests']}")
    click.echo(f"SSH connections: {counted['ssh_opened']} opened, {counted['ssh_reused']} reused")
    for backend, seen in sorted(counted["applies"].items()):
        average = seen["seconds"] / seen["count"] if seen["count"] else 0.0
        click.echo(f"applies with {backend}: {seen['count']:.0f}, {average:.2f} s on average")
