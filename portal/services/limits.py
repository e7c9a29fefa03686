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


def _count(kind: str, whose) -> sa.ScalarSelect:
    """What is used of one kind, by the accounts `whose(account_id column)` picks."""
    if kind == "quota_mb":
        return sa.select(sa.func.coalesce(sa.func.sum(Mailbox.quota_mb), 0)).where(
            whose(Mailbox.account_id)).scalar_subquery()
    model = COUNTED[kind]
    return sa.select(sa.func.count()).select_from(model).where(whose(model.account_id)).scalar_subquery()


def _used(kinds: list[str], account_ids: sa.Select | list[int]) -> dict[str, int]:
    """What the accounts use, for each kind, in one query."""
    row = db.session.execute(sa.select(*[_count(kind, lambda column: column.in_(account_ids)).label(kind)
                                         for kind in kinds])).one()
    return dict(zip(kinds, row, strict=True))


def _usage_statement() -> sa.Select:
    """Per account, every kind: one row each, counted by correlated subqueries."""
    columns = [_count(kind, lambda column: column == Account.id).label(kind) for kind in LIMITS]
    return sa.select(Account.id, *columns).where(Account.id.in_(sa.bindparam("ids", expanding=True)))


# Built once: its cache key (seven subqueries) is then worked out once, not on every page view.
USAGE = _usage_statement()


def used_by(account_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each account uses, kind by kind, in one query (a list page must not count per row)."""
    if not account_ids:
        return {}
    rows = db.session.execute(USAGE, {"ids": list(account_ids)})
    return {row.id: {kind: getattr(row, kind) for kind in LIMITS} for row in rows}


def reserve(account_id: int, kinds: str | dict[str, int], amount: int = 1) -> None:
    """Refuse, in plain words, what would take the account or its reseller over a limit.

    `kinds` is one kind (with `amount`) or {kind: amount}: one lock and one count for all of them.
    """
    wanted = {kinds: amount} if isinstance(kinds, str) else {k: n for k, n in kinds.items() if n}
    account = db.session.get(Account, account_id)
    chain = [account] + ([account.parent] if account.parent_id else [])
    if not any(holder.limit(kind) is not None for holder in chain for kind in wanted):
        return  # nothing here is limited: nothing to count
    # Lock in a fixed order (the reseller's id is not always lower), so two requests never deadlock;
    # the same query reloads the limits as they are now.
    db.session.scalars(sa.select(Account).where(Account.id.in_([a.id for a in chain])).order_by(Account.id)
                       .with_for_update().execution_options(populate_existing=True)).all()
    for holder in chain:
        limited = {kind: holder.limit(kind) for kind in wanted if holder.limit(kind) is not None}
        if not limited:
            continue
        scope = [holder.id] if holder is account else \
            sa.select(Account.id).where(sa.or_(Account.id == holder.id, Account.parent_id == holder.id))
        used = _used(list(limited), scope)
        for kind, limit in limited.items():
            if used[kind] + wanted[kind] > limit:
                whose = "Your plan" if holder is account else "Your reseller's plan"
                ask = "ask your reseller for a bigger plan" if account.parent_id else "ask us for a bigger plan"
                raise ServiceError(f"{whose} allows {limit} {LIMITS[kind]} and {used[kind]} are in use. "
                                   f"Delete something you no longer need, or {ask}.")
