"""Limits hold under concurrency: the account row (and its reseller's) is locked while counting.

Two requests creating mailboxes at once both wait on the account row on
PostgreSQL, so the second one counts the first one's mailbox.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LIMITS, Account, Address, Database, Domain, Mailbox, SystemUser, WebApp
from portal.services import ServiceError

COUNTED = {"mailboxes": Mailbox, "addresses": Address, "domains": Domain, "web_apps": WebApp,
           "system_users": SystemUser, "databases": Database}


def _used(kind: str, account_ids: sa.Select | list[int]) -> int:
    if kind == "quota_mb":
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Mailbox.quota_mb), 0))
                                 .where(Mailbox.account_id.in_(account_ids)))
    model = COUNTED[kind]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.account_id.in_(account_ids)))


def used_by(account_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each account uses, kind by kind, in one query (a list page must not count per row)."""
    if not account_ids:
        return {}
    columns = []
    for kind in LIMITS:
        if kind == "quota_mb":
            sub = sa.select(sa.func.coalesce(sa.func.sum(Mailbox.quota_mb), 0)).where(Mailbox.account_id == Account.id)
        else:
            model = COUNTED[kind]
            sub = sa.select(sa.func.count()).select_from(model).where(model.account_id == Account.id)
        columns.append(sub.scalar_subquery().label(kind))
    rows = db.session.execute(sa.select(Account.id, *columns).where(Account.id.in_(account_ids)))
    return {row.id: {kind: getattr(row, kind) for kind in LIMITS} for row in rows}


def reserve(account_id: int, kind: str, amount: int = 1) -> None:
    """Refuse, in plain words, what would take the account or its reseller over a limit."""
    account = db.session.get(Account, account_id)
    chain = [account] + ([account.parent] if account.parent_id else [])
    # Lock in a fixed order (the reseller's id is not always lower), so two requests never deadlock.
    db.session.execute(sa.select(Account.id).where(Account.id.in_([a.id for a in chain]))
                       .order_by(Account.id).with_for_update())
    for holder in chain:
        db.session.refresh(holder)
        limit = holder.limit(kind)
        if limit is None:
            continue
        scope = [holder.id] if holder is account else \
            sa.select(Account.id).where(sa.or_(Account.id == holder.id, Account.parent_id == holder.id))
        used = _used(kind, scope)
        if used + amount > limit:
            whose = "Your plan" if holder is account else "Your reseller's plan"
            ask = "ask your reseller for a bigger plan" if account.parent_id else "ask us for a bigger plan"
            raise ServiceError(f"{whose} allows {limit} {LIMITS[kind]} and {used} are in use. "
                               f"Delete something you no longer need, or {ask}.")
