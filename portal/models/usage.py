"""Usage counters: each account's `used_*` columns follow its own rows, flush by flush.

What counts comes from the kinds registry (models/kinds.py): a kind's `limit` counts one per row,
its `measures` add up a column (a mailbox's quota). `init_app()` hooks the counting into every
session's flushes.

Every ORM insert and delete of a counted object (and a change to a measured column) moves its account's
counters in the same transaction, so the figures commit or roll back with the rows. A reseller's
row holds only its own: what its sub-accounts have is added when read (`totals()`), so creates in
different sub-accounts never queue on the reseller's row.

Deletes that may race (a worker settling, a purge) go through `delete_rows()`, which counts only
rows really deleted. Bulk inserts (the benchmark's) end with `recount()`. `drift()` compares the
counters with real counts: the test suite checks it after every test.

Lock order, everywhere: account rows first (see `lock()`), then the rows of services.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, attributes, joinedload, scoped_session

from portal.models import revisions
from portal.models.accounts import Account, AccountKind
from portal.models.kinds import COUNTED, LIMITS, kind_of

USED = [f"used_{limit}" for limit in LIMITS]
# A session, or the app's scoped one (db.session).
AnySession = Session | scoped_session[Any]
LOCKED = "hostdeck.locked_accounts"  # account ids this transaction holds FOR UPDATE


def _measured(obj: Any, column: str, committed: bool) -> int:
    if committed:  # a deleted row takes off what was counted, not an uncommitted edit
        _, unchanged, deleted = attributes.get_history(obj, column)
        return int((deleted or unchanged or [getattr(obj, column)])[0])
    return int(getattr(obj, column))


def _deltas(session: Session) -> dict[int, Counter[str]]:
    deltas: dict[int, Counter[str]] = defaultdict(Counter)
    for objects, sign in ((session.new, 1), (session.deleted, -1)):
        for obj in objects:
            kind = kind_of(obj)
            if kind is None:
                continue
            if kind.limit:
                deltas[obj.account_id][kind.limit] += sign
            for column in kind.measures:
                deltas[obj.account_id][column] += sign * _measured(obj, column, committed=sign < 0)
    for obj in session.dirty:
        kind = kind_of(obj)
        for column in kind.measures if kind else ():
            added, _, deleted = attributes.get_history(obj, column)
            if added and deleted:
                deltas[obj.account_id][column] += added[0] - deleted[0]
    return {account_id: delta for account_id, delta in deltas.items() if any(delta.values())}


def lock(session: AnySession, account_ids: Iterable[int], *, load: bool = False) -> list[Account]:
    """Lock account rows, once per transaction, in the one order every writer keeps: before any
    service or operation row; customers and sub-accounts by id, then resellers by id. (A create
    locks its account, then its reseller if that one limits it.) So two transactions never wait on
    each other in a circle. `load`: return them, reloaded as they are now."""
    held = session.info.setdefault(LOCKED, set())
    ids = set(account_ids)
    wanted = sorted(ids if load else ids - held)
    if not wanted:
        return []
    if session.connection().dialect.name == "sqlite" and not held:
        _write_lock(session, wanted)
    query = (
        sa.select(Account if load else Account.id)
        .where(Account.id.in_(wanted))
        .order_by(Account.kind == AccountKind.RESELLER, Account.id)
        .with_for_update(of=Account)
    )
    if load:  # with the reseller's limits, read (not locked) in the same query
        query = query.options(joinedload(Account.parent)).execution_options(populate_existing=True)
    rows = session.scalars(query).all()
    held.update(wanted)
    return [row for row in rows if isinstance(row, Account)]  # none when only ids were locked


def _write_lock(session: AnySession, account_ids: list[int]) -> None:
    """SQLite has no row locks (it ignores FOR UPDATE): a write takes the whole database's write
    lock until the commit. The sqlite3 driver begins a transaction at its first write, never at a
    read, so this no-op UPDATE is where the transaction starts: a writer already holding the lock
    makes it wait (the busy timeout), and what it reads next is what the others committed."""
    session.execute(
        revisions.named(sa.update(Account).where(Account.id.in_(account_ids)).values(updated_at=Account.updated_at))
    )


def _move(session: AnySession, deltas: dict[int, Counter[str]]) -> None:
    if len(deltas) > 1:  # one account's UPDATE locks just its row; several are locked in order first
        lock(session, deltas)
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        # updated_at stays: the account itself was not edited. Its revision moves with the rows that moved this.
        session.execute(
            revisions.named(
                sa.update(Account)
                .where(Account.id == account_id)
                .values(
                    {
                        **{f"used_{kind}": getattr(Account, f"used_{kind}") + n for kind, n in delta.items() if n},
                        "updated_at": Account.updated_at,
                    }
                )
            )
        )


def _count_flushed(session: Session, context: object) -> None:
    deltas = _deltas(session)
    if deltas:
        _move(session, deltas)
        session.info["usage_moved"] = True


def _expire_moved(session: Session, context: object) -> None:
    # Loaded accounts must not show the figures from before the flush.
    if session.info.pop("usage_moved", False):
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Account):
                session.expire(obj, USED)


def _release(session: Session) -> None:
    session.info.pop(LOCKED, None)


LISTENERS = (
    ("after_flush", _count_flushed),
    ("after_flush_postexec", _expire_moved),
    ("after_commit", _release),
    ("after_rollback", _release),
)


def init_app(app: Flask) -> None:
    """Keep the counters on every session's flushes (every app's: they share the Session class)."""
    for event, listener in LISTENERS:
        if not sa.event.contains(Session, event, listener):
            sa.event.listen(Session, event, listener)


def delete_rows(session: AnySession, model: type[Any], ids: list[int]) -> None:
    """Delete rows of a counted kind and take off only what really went: another transaction may
    have deleted some of them first (two workers settling, a purge run twice)."""
    if not ids:
        return
    kind = kind_of(model)
    if kind is None or kind not in COUNTED:
        raise ValueError(f"{model.__name__} is not a counted kind")
    owners = session.scalars(sa.select(model.account_id).where(model.id.in_(ids)).distinct()).all()
    lock(session, owners)
    revisions.touch(session, owners)
    measures = [getattr(model, column) for column in kind.measures]
    deleting = sa.delete(model).where(model.id.in_(ids)).returning(model.account_id, *measures)
    gone = session.execute(revisions.named(deleting)).all()
    deltas: dict[int, Counter[str]] = defaultdict(Counter)
    for account_id, *values in gone:
        if kind.limit:
            deltas[account_id][kind.limit] -= 1
        for column, value in zip(kind.measures, values, strict=True):
            deltas[account_id][column] -= value
    if deltas:
        _move(session, deltas)


def totals(session: AnySession, accounts: list[Account]) -> dict[int, dict[str, int]]:
    """account id -> limit -> what it has; a reseller's with its sub-accounts' (one query, if any)."""
    found = {a.id: {limit: a.used(limit) for limit in LIMITS} for a in accounts}
    resellers = [a.id for a in accounts if a.kind == AccountKind.RESELLER]
    if resellers:
        sums = session.execute(
            sa.select(Account.parent_id, *[sa.func.sum(getattr(Account, c)) for c in USED])
            .where(Account.parent_id.in_(resellers))
            .group_by(Account.parent_id)
        )
        for parent_id, *used in sums:
            for limit, n in zip(LIMITS, used, strict=True):
                found[parent_id][limit] += int(n or 0)
    return found


def _real() -> sa.Select[Any]:
    """Per account, what its own rows are."""
    columns = []
    for kind in COUNTED:
        model = kind.model
        if kind.limit:
            columns.append(_per_account(model, sa.func.count()).label(kind.limit))
        for column in kind.measures:
            total = sa.func.coalesce(sa.func.sum(getattr(model, column)), 0)
            columns.append(_per_account(model, total).label(column))
    return sa.select(Account.id, *columns, *[getattr(Account, c) for c in USED])


def _per_account(model: type[Any], value: Any) -> Any:
    return sa.select(value).select_from(model).where(model.account_id == Account.id).scalar_subquery()


def drift(session: AnySession) -> list[tuple[int, str, int, int]]:
    """(account id, limit, counter, real count) wherever the two differ."""
    return [
        (row.id, limit, getattr(row, f"used_{limit}"), getattr(row, limit))
        for row in session.execute(_real())
        for limit in LIMITS
        if getattr(row, f"used_{limit}") != getattr(row, limit)
    ]


def recount(session: AnySession) -> int:
    """Set the counters from real counts, with every account row locked (after bulk inserts, or to
    mend drift). Returns how many accounts were wrong. The caller commits."""
    lock(session, session.scalars(sa.select(Account.id)).all())
    wrong: dict[int, dict[str, int]] = defaultdict(dict)
    for account_id, limit, _, real in drift(session):
        wrong[account_id][f"used_{limit}"] = real
    for account_id, values in wrong.items():
        session.execute(
            sa.update(Account).where(Account.id == account_id).values({**values, "updated_at": Account.updated_at})
        )
    return len(wrong)
