import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.cli.accounts import account_named
from portal.extensions import db
from portal.models import LIMITS, Plan

plans = AppGroup("plans", help="Named sets of limits, and limits of single accounts.")


def limit_options(command):
    for kind in reversed(LIMITS):
        command = click.option(
            f"--{kind.replace('_', '-')}",
            kind,
            type=click.IntRange(min=0),
            help=f"Most {LIMITS[kind]} (omit: no limit).",
        )(command)
    return command


def _set(target, values: dict) -> None:
    for kind in LIMITS:
        setattr(target, f"max_{kind}", values.get(kind))


@plans.command("create")
@click.argument("name")
@limit_options
def create_plan(name: str, **values) -> None:
    """Create (or replace) a plan."""
    plan = db.session.scalar(sa.select(Plan).where(Plan.name == name)) or Plan(name=name)
    _set(plan, values)
    db.session.add(plan)
    db.session.commit()
    click.echo(f"plan {name}: " + ", ".join(f"{k}={v}" for k, v in values.items() if v is not None))


@plans.command("apply")
@click.argument("plan_name")
@click.argument("account_name")
def apply_plan(plan_name: str, account_name: str) -> None:
    """Copy a plan's limits onto an account."""
    plan = db.session.scalar(sa.select(Plan).where(Plan.name == plan_name))
    if plan is None:
        raise click.ClickException(f"no plan named {plan_name!r}")
    account = account_named(account_name)
    _set(account, {kind: plan.limit(kind) for kind in LIMITS})
    db.session.commit()
    click.echo(f"{account_name} now has plan {plan_name}'s limits")


@plans.command("limit")
@click.argument("account_name")
@limit_options
def limit_account(account_name: str, **values) -> None:
    """Set one account's limits directly."""
    account = account_named(account_name)
    _set(account, values)
    db.session.commit()
    click.echo(f"{account_name}: limits set")
