"""Limits hold under concurrency: the account row (and its reseller's) is locked while checking.

The figures are the usage counters (services/usage.py), moved by the same transaction's flush. Two
requests creating mailboxes at once both wait on the account row, so the second one reads the
counter the first one moved.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LIMITS, Account
from portal.services import ServiceError, usage


def reserve(account_id: int, kinds: str | dict[str, int], amount: int = 1) -> None:
    """Refuse, in plain words, what would take the account or its reseller over a limit.

    `kinds` is one kind (with `amount`) or {kind: amount}: one lock for all of them.
    """
    wanted = {kinds: amount} if isinstance(kinds, str) else {k: n for k, n in kinds.items() if n}
    account = db.session.get(Account, account_id)
    chain = [account] + ([account.parent] if account.parent_id else [])
    if not any(holder.limit(kind) is not None for holder in chain for kind in wanted):
        return  # nothing here is limited: nothing to lock
    # Locked in id order (the reseller's id is not always lower), as every writer does, and
    # reloaded as they are now: limits and counters.
    ids = sorted(a.id for a in chain)
    chain = db.session.scalars(sa.select(Account).where(Account.id.in_(ids)).order_by(Account.id)
                               .with_for_update().execution_options(populate_existing=True)).all()
    db.session.info.setdefault(usage.LOCKED, set()).update(ids)
    used = usage.totals(db.session, chain)  # a reseller's: with its sub-accounts'
    for holder in sorted(chain, key=lambda a: a.id != account_id):  # the account's own plan speaks first
        for kind, n in wanted.items():
            limit = holder.limit(kind)
            if limit is not None and used[holder.id][kind] + n > limit:
                whose = "Your plan" if holder.id == account_id else "Your reseller's plan"
                ask = "ask your reseller for a bigger plan" if account.parent_id else "ask us for a bigger plan"
                raise ServiceError(f"{whose} allows {limit} {LIMITS[kind]} and {used[holder.id][kind]} are in "
                                   f"use. Delete something you no longer need, or {ask}.")
