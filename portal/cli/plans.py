import click
from flask.cli import AppGroup

from portal.cli.accounts import account_named
from portal.extensions import db
from portal.models.kinds import ALL_LIMITS
from portal.services import ServiceError
from portal.services.plans import apply_plan, plan_named, save_plan, set_account_limits

plans = AppGroup("plans", help="Named sets of limits, and limits of single accounts.")


def limit_options(command):
    for kind in reversed(ALL_LIMITS):
        command = click.option(
            f"--{kind.replace('_', '-')}",
            kind,
            type=click.IntRange(min=0),
            help=f"Most {ALL_LIMITS[kind]} (omit: no limit).",
        )(command)
    return command


def _done(message: str) -> None:
    db.session.commit()
    click.echo(message)


@plans.command("create")
@click.argument("name")
@limit_options
def create_plan(name: str, **values) -> None:
    """Create (or replace) a plan; the accounts on it follow, never below what they have."""
    try:
        plan, moved = save_plan(None, plan_named(name), name=name, values=values)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    limits = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
    _done(f"plan {plan.name}: {limits}" + (f" ({moved} account(s) follow)" if moved else ""))


@plans.command("apply")
@click.argument("plan_name")
@click.argument("account_name")
def apply_plan_command(plan_name: str, account_name: str) -> None:
    """Copy a plan's limits onto an account."""
    plan = plan_named(plan_name)
    if plan is None:
        raise click.ClickException(f"no plan named {plan_name!r}")
    try:
        apply_plan(None, plan, account_named(account_name))
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    _done(f"{account_name} now has plan {plan_name}'s limits")


@plans.command("limit")
@click.argument("account_name")
@limit_options
def limit_account(account_name: str, **values) -> None:
    """Set one account's limits directly."""
    try:
        set_account_limits(None, account_named(account_name), values)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    _done(f"{account_name}: limits set")
