"""flask usage collect: a usage round now, on every server or one."""

import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Server
from portal.orchestration.metering.rounds import collect_server

usage = AppGroup("usage", help="Disk, mail and traffic measured on the servers.")


@usage.command("collect")
@click.option("--server", "server_name", help="Only this server.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per server.")
def collect(server_name: str | None, as_json: bool) -> None:
    """Measure now, even on a server with changes waiting (a round by hand does not wait for them)."""
    query = sa.select(Server).order_by(Server.name)
    if server_name is not None:
        query = query.where(Server.name == server_name)
    servers = list(db.session.scalars(query))
    if server_name is not None and not servers:
        raise click.ClickException(f"no server {server_name}")
    failed = False
    for server in servers:
        name = server.name
        summary = collect_server(server.id, force=True)
        failed = failed or summary.get("state") in ("FAILURE", "ERROR", "TIMEOUT")
        if as_json:
            click.echo(json.dumps({"server": name, **summary}))
        else:
            click.echo(f"{name}: {summary.get('state')}, {summary.get('values', 0)} values (log {summary.get('log')})")
    if failed:
        raise click.ClickException("a round failed: see its log on the servers page")
