import json

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Route, Server
from portal.models.server_settings import setting_from_text, settings_problems
from portal.models.validators import control_problem
from portal.orchestration.backends import BACKENDS
from portal.orchestration.checks import check_server
from portal.orchestration.transports import host_key_from_keyscan, parse_host_key

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


def _settings(pairs: tuple[str, ...]) -> dict:
    """--set KEY=VALUE pairs as stored: checked against the declared server settings."""
    settings = {}
    for pair in pairs:
        key, sep, value = _clean(pair, "--set").partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        settings[key] = setting_from_text(key, value)
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
    db.session.add(Route(backend=backend, server=_server(server_name)))
    db.session.commit()
    click.echo(f"{backend} now runs on {server_name}")


@servers.command("check")
@click.argument("name")
def check(name: str) -> None:
    """Connect to NAME as an apply would and report what each routed backend needs there."""
    findings = check_server(_server(name))
    for finding in findings:
        click.echo(finding.line())
    failed = sum(not f.ok for f in findings)
    if failed:
        raise click.ClickException(f"{failed} of {len(findings)} checks on {name} failed")
