"""Limits hold under concurrency: the account row (and its reseller's) is locked while checking.

The figures are the usage counters (models/usage.py), moved by the same transaction's flush. Two
requests creating mailboxes at once both wait on the account row (on SQLite, which has no row
locks, on the database's write lock: models/usage.py lock()), so the second one reads the counter
the first one moved.
"""

from __future__ import annotations

from portal.extensions import db
from portal.models import usage
from portal.models.kinds import counted
from portal.services import ServiceError
from portal.words import ngettext


def reserve(account_id: int, kinds: str | dict[str, int], amount: int = 1) -> None:
    """Refuse, in plain words, what would take the account or its reseller over a limit.

    `kinds` is one kind (with `amount`) or {kind: amount}. Every create calls it before writing
    anything: it takes the account's row lock first, as the lock order wants (models/usage.py),
    and the reseller's only when the reseller limits one of these kinds.
    """
    wanted = {kinds: amount} if isinstance(kinds, str) else {k: n for k, n in kinds.items() if n}
    [account] = usage.lock(db.session, [account_id], load=True)
    chain = [account]
    parent = account.parent
    if parent is not None and any(parent.limit(kind) is not None for kind in wanted):
        chain += usage.lock(db.session, [parent.id], load=True)
    if not any(holder.limit(kind) is not None for holder in chain for kind in wanted):
        return
    used = usage.totals(db.session, chain)  # a reseller's: with its sub-accounts'
    for holder in chain:  # the account's own plan speaks first
        for kind, n in wanted.items():
            limit = holder.limit(kind)
            if limit is not None and used[holder.id][kind] + n > limit:
                # "allows 3 mailboxes and 3 are in use": the count in its kind's words, the verb by the use.
                n = used[holder.id][kind]
                allowed = counted(kind, limit)
                if holder is not account:
                    message = ngettext(
                        "Your reseller's plan allows %(allowed)s and %(num)d is in use. Delete something you "
                        "no longer need, or ask your reseller for a bigger plan.",
                        "Your reseller's plan allows %(allowed)s and %(num)d are in use. Delete something you "
                        "no longer need, or ask your reseller for a bigger plan.",
                        n,
                        allowed=allowed,
                    )
                elif account.parent_id:
                    message = ngettext(
                        "Your plan allows %(allowed)s and %(num)d is in use. Delete something you no longer "
                        "need, or ask your reseller for a bigger plan.",
                        "Your plan allows %(allowed)s and %(num)d are in use. Delete something you no longer "
                        "need, or ask your reseller for a bigger plan.",
                        n,
                        allowed=allowed,
                    )
                else:
                    message = ngettext(
                        "Your plan allows %(allowed)s and %(num)d is in use. Delete something you no longer "
                        "need, or ask us for a bigger plan.",
                        "Your plan allows %(allowed)s and %(num)d are in use. Delete something you no longer "
                        "need, or ask us for a bigger plan.",
                        n,
                        allowed=allowed,
                    )
                raise ServiceError(message)
