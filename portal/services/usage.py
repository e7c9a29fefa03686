"""Usage counters: each account's `used_*` columns follow its rows, flush by flush.

Every ORM insert and delete of a counted object (and a mailbox's quota change) moves the owner's
counters and its reseller's in the same transaction, so the figures commit or roll back with the
rows. Bulk SQL deletes go through `delete_rows()`; bulk inserts (the benchmark's) end with
`recount()`. `drift()` compares the counters with real counts: the test suite checks it after
every test.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session, attributes

from portal.models import LIMITS, Account, Address, Database, Domain, Mailbox, SystemUser, WebApp

COUNTED = {Mailbox: "mailboxes", Address: "addresses", Domain: "domains", WebApp: "web_apps",
           SystemUser: "system_users", Database: "databases"}
USED = [f"used_{kind}" for kind in LIMITS]


def _deltas(session: Session) -> dict[int, Counter]:
    deltas: dict[int, Counter] = defaultdict(Counter)
    for objects, sign in ((session.new, 1), (session.deleted, -1)):
        for obj in objects:
            kind = COUNTED.get(type(obj))
            if kind is None:
                continue
            deltas[obj.account_id][kind] += sign
            if kind == "mailboxes":
                deltas[obj.account_id]["quota_mb"] += sign * obj.quota_mb
    for obj in session.dirty:
        if type(obj) is Mailbox:
            added, _, deleted = attributes.get_history(obj, "quota_mb")
            if added and deleted:
                deltas[obj.account_id]["quota_mb"] += added[0] - deleted[0]
    return deltas


def add(connection: sa.Connection, account_id: int, delta: Counter) -> None:
    """Move the account's counters, and its reseller's, by `delta` (one statement)."""
    delta = {kind: n for kind, n in delta.items() if n}
    if not delta:
        return
    parent = sa.select(Account.parent_id).where(Account.id == account_id).scalar_subquery()
    # updated_at stays: the account itself was not edited.
    connection.execute(sa.update(Account).where(sa.or_(Account.id == account_id, Account.id == parent)).values(
        {**{f"used_{kind}": getattr(Account, f"used_{kind}") + n for kind, n in delta.items()},
         "updated_at": Account.updated_at}))


@sa.event.listens_for(Session, "after_flush")
def _count_flushed(session: Session, context) -> None:
    deltas = _deltas(session)
    for account_id, delta in deltas.items():
        add(session.connection(), account_id, delta)
    if deltas:
        session.info["usage_moved"] = True


@sa.event.listens_for(Session, "after_flush_postexec")
def _expire_moved(session: Session, context) -> None:
    # Loaded accounts (an owner's, its reseller's) must not show the figures from before the flush.
    if session.info.pop("usage_moved", False):
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Account):
                session.expire(obj, USED)


def delete_rows(session: Session, model, ids: list[int]) -> None:
    """Delete rows of a counted model in one statement, and move the counters by what went."""
    kind = COUNTED[model]
    quota = Mailbox.quota_mb if model is Mailbox else sa.literal(0)
    gone = session.execute(sa.delete(model).where(model.id.in_(ids)).returning(model.account_id, quota)).all()
    deltas: dict[int, Counter] = defaultdict(Counter)
    for account_id, quota_mb in gone:
        deltas[account_id][kind] -= 1
        deltas[account_id]["quota_mb"] -= quota_mb
    for account_id, delta in deltas.items():
        add(session.connection(), account_id, delta)


def _real() -> sa.Select:
    """Per account, what it really has (its own rows only)."""
    columns = []
    for model, kind in COUNTED.items():
        columns.append(sa.select(sa.func.count()).select_from(model)
                       .where(model.account_id == Account.id).scalar_subquery().label(kind))
    columns.append(sa.select(sa.func.coalesce(sa.func.sum(Mailbox.quota_mb), 0))
                   .where(Mailbox.account_id == Account.id).scalar_subquery().label("quota_mb"))
    return sa.select(Account.id, Account.parent_id, *columns)


def real_usage(session: Session) -> dict[int, dict[str, int]]:
    """account id -> kind -> what it and its sub-accounts have, counted row by row."""
    rows = session.execute(_real()).all()
    totals = {row.id: {kind: getattr(row, kind) for kind in LIMITS} for row in rows}
    for row in rows:
        if row.parent_id is not None:
            for kind in LIMITS:
                totals[row.parent_id][kind] += getattr(row, kind)
    return totals


def drift(session: Session) -> list[tuple[int, str, int, int]]:
    """(account id, kind, counter, real count) wherever the two differ."""
    kept = {row.id: row for row in session.execute(sa.select(Account.id, *[getattr(Account, c) for c in USED]))}
    return [(account_id, kind, getattr(kept[account_id], f"used_{kind}"), n)
            for account_id, used in real_usage(session).items() for kind, n in used.items()
            if getattr(kept[account_id], f"used_{kind}") != n]


def recount(session: Session) -> int:
    """Set every counter from real counts (after bulk inserts, or to mend drift). Returns accounts changed."""
    wrong = {account_id for account_id, *_ in drift(session)}
    for account_id, used in real_usage(session).items():
        if account_id in wrong:
            session.execute(sa.update(Account).where(Account.id == account_id)
                            .values({f"used_{kind}": n for kind, n in used.items()}))
    return len(wrong)
