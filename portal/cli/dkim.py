"""flask dkim: rotate a domain's DKIM key, and drop the retired keys now (the worker's sweeper does it too)."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Domain
from portal.models.validators import domain_to_ascii
from portal.orchestration import dkim_flow
from portal.services import ServiceError
from portal.services.dkim import rotate_key

dkim = AppGroup("dkim", help="DKIM keys of mail domains.")


@dkim.command("rotate")
@click.argument("name")
def rotate(name: str) -> None:
    """A new key for NAME: it signs once published; the old one stays published DKIM_RETIRE_DAYS."""
    try:
        ascii_name = domain_to_ascii(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    domain = db.session.scalar(sa.select(Domain).where(Domain.name == ascii_name, Domain.verified_at.is_not(None)))
    if domain is None:
        raise click.ClickException(f"no verified domain {ascii_name}")
    try:
        key = rotate_key(None, domain)
    except ServiceError as refused:
        raise click.ClickException(refused.message) from refused
    db.session.commit()
    click.echo(f"{ascii_name}: new key {key.selector} asked for")


@dkim.command("sweep")
def sweep() -> None:
    """Drop the retired keys whose time is up from the zones and the mail servers."""
    click.echo(f"dropped {dkim_flow.sweep_retired()} retired key(s)")
