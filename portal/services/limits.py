"""Limits hold under concurrency: the account row (and its reseller's) is locked while checking.

The figures are the usage counters (services/usage.py), moved by the same transaction's flush. Two
requests creating mailboxes at once both wait on the account row, so the second one reads the
counter the first one moved.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LIMITS, Account
from portal.services import ServiceError


def reserve(account_id: int, kinds: str | dict[str, int], amount: int = 1) -> None:
    """Refuse, in plain words, what would take the account or its reseller over a limit.

    `kinds` is one kind (with `amount`) or {kind: amount}: one lock for all of them.
    """
    wanted = {kinds: amount} if isinstance(kinds, str) else {k: n for k, n in kinds.items() if n}
    # The account and its reseller, locked in id order (the reseller's id is not always lower, and two
    # requests must never deadlock), reloaded as they are now: limits and counters.
    parent = sa.select(Account.parent_id).where(Account.id == account_id).scalar_subquery()
    chain = db.session.scalars(sa.select(Account).where(sa.or_(Account.id == account_id, Account.id == parent))
                               .order_by(Account.id).with_for_update()
                               .execution_options(populate_existing=True)).all()
    account = next(a for a in chain if a.id == account_id)
    for holder in sorted(chain, key=lambda a: a is not account):  # the account's own plan speaks first
        for kind, n in wanted.items():
            limit = holder.limit(kind)
            if limit is not None and holder.used(kind) + n > limit:
                whose = "Your plan" if holder is account else "Your reseller's plan"
                ask = "ask your reseller for a bigger plan" if account.parent_id else "ask us for a bigger plan"
                raise ServiceError(f"{whose} allows {limit} {LIMITS[kind]} and {holder.used(kind)} are in use. "
                                   f"Delete something you no longer need, or {ask}.")
