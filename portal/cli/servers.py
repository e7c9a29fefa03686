import json
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Server
from portal.models.server_settings import setting_from_text, settings_problems
from portal.models.validators import control_problem
from portal.orchestration.backends import BACKENDS
from portal.orchestration.checks import inspect_server
from portal.orchestration.transports import host_key_from_keyscan, parse_host_key
from portal.services import servers as manage
from portal.services.servers import server_named

servers = AppGroup("servers", help="Managed servers.")


def _server(name: str) -> Server:
    server = db.session.scalar(sa.select(Server).where(Server.name == name))
    if server is None:
        raise click.ClickException(f"no server named {name!r}")
    return server


def _clean(value: str, hint: str) -> str:
    problem = control_problem(value)
    if problem:
        raise click.BadParameter(problem, param_hint=hint)
    return value


class SettingsRefused(click.ClickException):
    exit_code = 2  # a bad --set, as click counts bad options; said in one line, without the usage


def _pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """--set KEY=VALUE pairs as stored (a number, a list or text, as the declared setting takes it)."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = _clean(pair, "--set").partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        settings[key] = setting_from_text(key, value)
    return settings


def _settings(pairs: tuple[str, ...]) -> dict:
    """--set KEY=VALUE pairs as stored: checked against the declared server settings."""
    settings = _pairs(pairs)
    problems = settings_problems(settings)
    if problems:
        raise SettingsRefused(" ".join(problems))
    return settings


@servers.command("add")
@click.argument("name")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=22)
@click.option("--user", "ssh_user", default="root")
@click.option("--transport", type=click.Choice(["ssh", "local"]), default="ssh")
@click.option("--host-key", help='The public host key: "ssh-ed25519 AAAA...".')
@click.option("--keyscan-file", type=click.File(), help="ssh-keyscan output to take the host key from.")
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A setting, e.g. dovecot_passwd_file=/etc/dovecot/users, dovecot_scheme=ARGON2ID.",
)
def add_server(name, host, port, ssh_user, transport, host_key, keyscan_file, pairs) -> None:
    """Register a managed server with its pinned host key."""
    host, ssh_user = _clean(host, "--host"), _clean(ssh_user, "--user")
    try:
        if keyscan_file is not None:
            host_key = host_key_from_keyscan(keyscan_file.read())
        elif host_key:
            key = parse_host_key(host_key)
            host_key = f"{key.get_name()} {key.get_base64()}"
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if transport == "ssh" and not host_key:
        raise click.ClickException(
            "an SSH server needs --host-key or --keyscan-file; keys are never trusted on first use"
        )
    db.session.add(
        Server(
            name=name,
            host=host,
            port=port,
            ssh_user=ssh_user,
            transport=transport,
            host_key=host_key,
            settings=_settings(pairs),
        )
    )
    db.session.commit()
    click.echo(f"server {name} added ({transport} {ssh_user}@{host}:{port})")


@servers.command("list")
def list_servers() -> None:
    for s in db.session.scalars(sa.select(Server).order_by(Server.name)):
        click.echo(f"{s.name}\t{s.transport}\t{s.ssh_user}@{s.host}:{s.port}\t{json.dumps(s.settings)}")


@servers.command("route")
@click.argument("backend", type=click.Choice(sorted(BACKENDS)))
@click.argument("server_name")
def add_route(backend: str, server_name: str) -> None:
    """Route BACKEND to SERVER_NAME: its changes are applied there."""
    server = server_named(server_name)
    manage.add_route(None, server, backend)
    db.session.commit()
    click.echo(f"{backend} now runs on {server_name}")


@servers.command("check")
@click.argument("name")
def check(name: str) -> None:
    """Connect to NAME as an apply would and report what each routed backend needs there; fill in its
    timezone setting from its clock when it has none."""
    server = _server(name)
    findings, zone = inspect_server(server)
    for finding in findings:
        click.echo(finding.line())
    if zone and not settings_problems(server.settings):
        settings = {**(server.settings or {}), "timezone": zone}
        manage.edit_server(
            None, server, host=server.host, port=server.port, ssh_user=server.ssh_user, settings=settings
        )
        db.session.commit()
        click.echo(f"timezone set to {zone}, as the server's clock has it")
    failed = sum(not f.ok for f in findings)
    if failed:
        raise click.ClickException(f"{failed} of {len(findings)} checks on {name} failed")


# Managing a server once added (services/servers.py holds the rules; errors are one line: cli/errors.py)


@servers.command("edit")
@click.argument("name")
@click.option("--host", help="The new host name or IP address.")
@click.option("--port", type=click.IntRange(1, 65535), help="The new SSH port.")
@click.option("--user", "ssh_user", help="The new SSH user.")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE", help="Set a setting (repeat for more).")
@click.option("--unset", multiple=True, metavar="KEY", help="Remove a setting (repeat for more).")
def edit_server(name, host, port, ssh_user, pairs, unset) -> None:
    """Change a server's address, port, SSH user or settings; what is not given stays."""
    server = server_named(name)
    changed = manage.edit_server(
        None,
        server,
        host=server.host if host is None else host,
        port=server.port if port is None else port,
        ssh_user=server.ssh_user if ssh_user is None else ssh_user,
        settings=manage.merged_settings(server, _pairs(pairs), list(unset)),
    )
    db.session.commit()
    click.echo(f"server {name}: {', '.join(changed)} changed" if changed else f"server {name}: nothing to change")


@servers.command("repin")
@click.argument("name")
@click.option("--host-key", help='The new public host key: "ssh-ed25519 AAAA...".')
@click.option("--keyscan-file", type=click.File(), help="ssh-keyscan output to take the new host key from.")
@click.option("--yes", is_flag=True, help="Pin without asking (after comparing the fingerprints elsewhere).")
def repin_server(name, host_key, keyscan_file, yes) -> None:
    """Pin a new host key for a server whose key really changed; shows both fingerprints and asks."""
    if (host_key is None) == (keyscan_file is None):
        raise click.UsageError("give exactly one of --host-key and --keyscan-file")
    server = server_named(name)
    change = manage.repin_preview(server, host_key if host_key is not None else keyscan_file.read())
    click.echo(f"old: {change.old_fingerprint or '(no key pinned)'}")
    click.echo(f"new: {change.new_fingerprint}")
    if not yes:
        click.confirm(f"Pin the new key for {name}?", abort=True)
    manage.repin(None, server, change.new_key, seen_fingerprint=change.old_fingerprint)
    db.session.commit()
    click.echo(f"server {name}: host key re-pinned ({change.new_fingerprint})")


@servers.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Remove without asking.")
def remove_server(name, yes) -> None:
    """Remove a server no backend is routed to, with its backend logs (services/servers.py says why)."""
    server = server_named(name)
    problem = manage.removal_problem(server)
    if problem:
        raise click.ClickException(problem)
    logs = manage.history(server).logs
    if not yes:
        click.confirm(f"Remove server {name} and its {logs} backend log(s)?", abort=True)
    manage.remove_server(None, server)
    db.session.commit()
    click.echo(f"server {name} removed, with {logs} backend log(s)")


@servers.command("unroute")
@click.argument("backend")
@click.argument("server_name")
def remove_route(backend: str, server_name: str) -> None:
    """Stop applying BACKEND's changes on SERVER_NAME; what the server holds stays there."""
    manage.remove_route(None, server_named(server_name), backend)
    db.session.commit()
    click.echo(f"{backend} no longer runs on {server_name}; what it wrote there stays")
