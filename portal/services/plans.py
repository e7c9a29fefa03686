"""Plans and account limits: the rules the staff console, the reseller's limits form and the operator's
commands share.

A plan is a named set of limits (models/plans.py) copied onto accounts. An account is *on* a plan when
its limits are the plan's, every one of them: so no two plans may have the same limits, and editing a
plan carries its new limits to the accounts on it. (A plan id on the account would say it outright;
that takes a migration.)

No limit may be set below what the account already has: `refuse_below_usage()` is the one check,
over every limit of the kinds registry (models/kinds.py: LIMITS), for a reseller with its
sub-accounts' usage.

Who may do what: staff apply plans to accounts, which is support work (a customer upgrades); only
admins create and edit plans, because a plan is what the business sells, and one edit changes every
account on it at once. The operator's commands (actor None) may do both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from flask import abort

from portal.extensions import db
from portal.models import Account, Plan, Role, Status
from portal.models.dns import DnsRecord
from portal.models.kinds import ALL_LIMITS, counted
from portal.models.plans import Limits
from portal.models.usage import lock, totals
from portal.security.audit import audit
from portal.security.scoping import Actor, console
from portal.services import ServiceError
from portal.services.text import plain_text
from portal.words import gettext, ngettext

LimitValues = Mapping[str, int | None]


def limits_of(target: Limits) -> dict[str, int | None]:
    return {kind: target.limit(kind) for kind in ALL_LIMITS}


def _copy(values: LimitValues, target: Limits) -> None:
    for kind in ALL_LIMITS:
        setattr(target, f"max_{kind}", values.get(kind))


def check_values(values: LimitValues) -> dict[str, int | None]:
    """Every limit of the registry, None (no limit) or a whole number of zero or more."""
    for kind, value in values.items():
        if kind not in ALL_LIMITS:
            raise ServiceError(gettext("There is no limit called %(kind)s.", kind=kind))
        if value is not None and value < 0:
            raise ServiceError(gettext("Limits are zero or more."), field=kind)
    return {kind: values.get(kind) for kind in ALL_LIMITS}


def refuse_below_usage(accounts: Sequence[Account], values: LimitValues) -> None:
    """Refuse, with the figures, limits below what any of these accounts already has (a reseller: with
    its sub-accounts). Lock the accounts first, so that nothing is created past the new limits
    meanwhile (the lock order of models/usage.py)."""
    if not accounts or all(values.get(kind) is None for kind in ALL_LIMITS):
        return
    locked = lock(db.session, [a.id for a in accounts], load=True)
    used = totals(db.session, locked)
    for account_id, most in fullest_zones(locked).items():
        used[account_id]["records_per_zone"] = most
    problems: list[tuple[str, str]] = []
    for account in sorted(locked, key=lambda a: a.name.lower()):
        for kind in ALL_LIMITS:
            limit, has = values.get(kind), used[account.id].get(kind, 0)
            if limit is not None and has > limit:
                problems.append(
                    (
                        kind,
                        gettext(
                            "%(account)s already has %(has)s; the limit cannot be lower than %(used)d.",
                            account=account.name,
                            has=counted(kind, has),
                            used=has,
                        ),
                    )
                )
    if problems:
        shown = [text for _, text in problems[:5]]
        if len(problems) > 5:
            shown.append(ngettext("And %(num)d more.", "And %(num)d more.", len(problems) - 5))
        raise ServiceError(" ".join(shown), field=problems[0][0])


def fullest_zones(accounts: Sequence[Account]) -> dict[int, int]:
    """account id -> the most custom DNS records in one of its zones (a reseller: its sub-accounts' too),
    for the per-zone limit, which has no usage counter."""
    ids = [a.id for a in accounts]
    children = db.session.execute(sa.select(Account.id, Account.parent_id).where(Account.parent_id.in_(ids))).all()
    wanted = set(ids) | {child for child, _ in children}
    per_account: dict[int, int] = {}
    for account_id, n in db.session.execute(
        sa.select(DnsRecord.account_id, sa.func.count())
        .where(DnsRecord.account_id.in_(wanted), DnsRecord.status != Status.DELETING)
        .group_by(DnsRecord.account_id, DnsRecord.domain_id)
    ):
        per_account[account_id] = max(per_account.get(account_id, 0), int(n))
    most = {account_id: per_account.get(account_id, 0) for account_id in ids}
    for child, parent in children:
        most[parent] = max(most[parent], per_account.get(child, 0))
    return most


def set_account_limits(actor: Actor | None, account: Account, values: LimitValues) -> Account:
    """An account's own limits, set directly (the operator's `flask plans limit`)."""
    values = check_values(values)
    refuse_below_usage([account], values)
    _copy(values, account)
    audit(actor, "account.limits", obj=account, account_id=account.id, fields=dict(values))
    return account


# Plans


def may_change_plans(actor: Actor | None) -> bool:
    """Admins (and the operator's commands); see the module's note for why not every staff member."""
    return actor is None or (actor.real_user is None and actor.user.role == Role.ADMIN)


def _refuse_unless_admin(actor: Actor | None) -> None:
    if not may_change_plans(actor):
        abort(403)


def plans() -> list[Plan]:
    return list(db.session.scalars(sa.select(Plan).order_by(sa.func.lower(Plan.name), Plan.id)))


def plan_named(name: str) -> Plan | None:
    return db.session.scalar(sa.select(Plan).where(Plan.name == name))


def _same_limits(plan_columns: type[Limits] | Limits, values: LimitValues) -> list[sa.ColumnElement[bool]]:
    return [getattr(plan_columns, f"max_{kind}").is_not_distinct_from(values.get(kind)) for kind in ALL_LIMITS]


def accounts_on(plan: Plan) -> sa.Select[tuple[Account]]:
    """The accounts whose limits are this plan's (not those being deleted)."""
    return (
        sa.select(Account)
        .where(Account.deleting_at.is_(None), *_same_limits(Account, limits_of(plan)))
        .order_by(Account.name, Account.id)
    )


def accounts_per_plan() -> dict[int, int]:
    """plan id -> how many accounts are on it, in one query."""
    same = sa.and_(*[getattr(Account, f"max_{k}").is_not_distinct_from(getattr(Plan, f"max_{k}")) for k in ALL_LIMITS])
    rows = db.session.execute(
        sa.select(Plan.id, sa.func.count(Account.id))
        .select_from(Plan)
        .outerjoin(Account, sa.and_(same, Account.deleting_at.is_(None)))
        .group_by(Plan.id)
    )
    return {plan_id: int(n) for plan_id, n in rows}


def save_plan(actor: Actor | None, plan: Plan | None, *, name: str, values: LimitValues) -> tuple[Plan, int]:
    """Create a plan (plan None) or edit one; an edit carries the new limits to the accounts on the plan,
    refused if any of them already has more. Returns the plan and how many accounts followed."""
    _refuse_unless_admin(actor)
    name = plain_text(name, "name").strip()
    if not 1 <= len(name) <= 100:
        raise ServiceError(gettext("Give the plan a name of at most 100 characters."), field="name")
    values = check_values(values)
    taken = db.session.scalar(sa.select(Plan).where(sa.func.lower(Plan.name) == name.lower()))
    if taken is not None and taken is not plan:
        raise ServiceError(gettext("There is already a plan named %(name)s.", name=taken.name), field="name")
    followers: list[Account] = []
    if plan is not None:
        followers = list(db.session.scalars(accounts_on(plan)))
        refuse_below_usage(followers, values)
    twin = db.session.scalar(sa.select(Plan).where(*_same_limits(Plan, values)))
    if twin is not None and twin is not plan:
        raise ServiceError(
            gettext("Plan %(name)s has these limits already: change one, or use that plan.", name=twin.name)
        )
    editing = plan is not None
    if plan is None:
        plan = Plan(name=name)
        db.session.add(plan)
    plan.name = name
    _copy(values, plan)
    for account in followers:
        _copy(values, account)
    db.session.flush()
    fields: dict[str, object] = {"name": name, **values}
    if editing:
        fields["accounts"] = len(followers)
    audit(actor, "plan.edit" if editing else "plan.create", obj=plan, fields=fields)
    for account in followers:
        audit(actor, "account.plan", obj=account, account_id=account.id, fields={"plan": name, **values})
    return plan, len(followers)


def apply_plan(actor: Actor | None, plan: Plan, account: Account) -> Account:
    """Copy a plan's limits onto an account, refused below what it already has."""
    values = limits_of(plan)
    refuse_below_usage([account], values)
    _copy(values, account)
    audit(actor, "account.plan", obj=account, account_id=account.id, fields={"plan": plan.name, **values})
    return account


def console_account(actor: Actor, account_id: int) -> Account:
    """An account for the staff console (404 for anyone else, and while impersonating)."""
    found = db.session.scalar(console(Account, actor).where(Account.id == account_id))
    if found is None:
        abort(404)
    return found
