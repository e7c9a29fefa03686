"""Usage counters: each account's `used_*` columns follow its own rows, flush by flush.

Every ORM insert and delete of a counted object (and a mailbox's quota change) moves its account's
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

import sqlalchemy as sa
from sqlalchemy.orm import Session, attributes, joinedload

from portal.models import LIMITS, Account, AccountKind, Address, Database, Domain, Mailbox, SystemUser, WebApp

COUNTED = {
    Mailbox: "mailboxes",
    Address: "addresses",
    Domain: "domains",
    WebApp: "web_apps",
    SystemUser: "system_users",
    Database: "databases",
}
USED = [f"used_{kind}" for kind in LIMITS]
LOCKED = "hostdeck.locked_accounts"  # account ids this transaction holds FOR UPDATE


def _quota(obj: Mailbox, committed: bool) -> int:
    if committed:  # a deleted mailbox takes off what was counted, not an uncommitted edit
        _, unchanged, deleted = attributes.get_history(obj, "quota_mb")
        return (deleted or unchanged or [obj.quota_mb])[0]
    return obj.quota_mb


def _deltas(session: Session) -> dict[int, Counter]:
    deltas: dict[int, Counter] = defaultdict(Counter)
    for objects, sign in ((session.new, 1), (session.deleted, -1)):
        for obj in objects:
            kind = COUNTED.get(type(obj))
            if kind is None:
                continue
            deltas[obj.account_id][kind] += sign
            if kind == "mailboxes":
                deltas[obj.account_id]["quota_mb"] += sign * _quota(obj, committed=sign < 0)
    for obj in session.dirty:
        if type(obj) is Mailbox:
            added, _, deleted = attributes.get_history(obj, "quota_mb")
            if added and deleted:
                deltas[obj.account_id]["quota_mb"] += added[0] - deleted[0]
    return {account_id: delta for account_id, delta in deltas.items() if any(delta.values())}


def lock(session: Session, account_ids, *, load: bool = False) -> list[Account]:
    """Lock account rows, once per transaction, in the one order every writer keeps: before any
    service or operation row; customers and sub-accounts by id, then resellers by id. (A create
    locks its account, then its reseller if that one limits it.) So two transactions never wait on
    each other in a circle. `load`: return them, reloaded as they are now."""
    held = session.info.setdefault(LOCKED, set())
    ids = set(account_ids)
    wanted = sorted(ids if load else ids - held)
    if not wanted:
        return []
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
    return rows if load else []


def _move(session: Session, deltas: dict[int, Counter]) -> None:
    if len(deltas) > 1:  # one account's UPDATE locks just its row; several are locked in order first
        lock(session, deltas)
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        # updated_at stays: the account itself was not edited.
        session.execute(
            sa.update(Account)
            .where(Account.id == account_id)
            .values(
                {
                    **{f"used_{kind}": getattr(Account, f"used_{kind}") + n for kind, n in delta.items() if n},
                    "updated_at": Account.updated_at,
                }
            )
        )


@sa.event.listens_for(Session, "after_flush")
def _count_flushed(session: Session, context) -> None:
    deltas = _deltas(session)
    if deltas:
        _move(session, deltas)
        session.info["usage_moved"] = True


@sa.event.listens_for(Session, "after_flush_postexec")
def _expire_moved(session: Session, context) -> None:
    # Loaded accounts must not show the figures from before the flush.
    if session.info.pop("usage_moved", False):
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Account):
                session.expire(obj, USED)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _release(session: Session) -> None:
    session.info.pop(LOCKED, None)


def delete_rows(session: Session, model, ids: list[int]) -> None:
    """Delete rows of a counted model and take off only what really went: another transaction may
    have deleted some of them first (two workers settling, a purge run twice)."""
    if not ids:
        return
    owners = session.scalars(sa.select(model.account_id).where(model.id.in_(ids)).distinct()).all()
    lock(session, owners)
    kind = COUNTED[model]
    quota = Mailbox.quota_mb if model is Mailbox else sa.literal(0)
    gone = session.execute(sa.delete(model).where(model.id.in_(ids)).returning(model.account_id, quota)).all()
    deltas: dict[int, Counter] = defaultdict(Counter)
    for account_id, quota_mb in gone:
        deltas[account_id][kind] -= 1
        deltas[account_id]["quota_mb"] -= quota_mb
    if deltas:
        _move(session, deltas)


def totals(session: Session, accounts: list[Account]) -> dict[int, dict[str, int]]:
    """account id -> kind -> what it has; a reseller's with its sub-accounts' (one query, if any)."""
    found = {a.id: {kind: a.used(kind) for kind in LIMITS} for a in accounts}
    resellers = [a.id for a in accounts if a.kind == AccountKind.RESELLER]
    if resellers:
        sums = session.execute(
            sa.select(Account.parent_id, *[sa.func.sum(getattr(Account, c)) for c in USED])
            .where(Account.parent_id.in_(resellers))
            .group_by(Account.parent_id)
        )
        for parent_id, *used in sums:
            for kind, n in zip(LIMITS, used, strict=True):
                found[parent_id][kind] += int(n or 0)
    return found


def _real() -> sa.Select:
    """Per account, what its own rows are."""
    columns = [
        sa.select(sa.func.count())
        .select_from(model)
        .where(model.account_id == Account.id)
        .scalar_subquery()
        .label(kind)
        for model, kind in COUNTED.items()
    ]
    columns.append(
        sa.select(sa.func.coalesce(sa.func.sum(Mailbox.quota_mb), 0))
        .where(Mailbox.account_id == Account.id)
        .scalar_subquery()
        .label("quota_mb")
    )
    return sa.select(Account.id, *columns, *[getattr(Account, c) for c in USED])


def drift(session: Session) -> list[tuple[int, str, int, int]]:
    """(account id, kind, counter, real count) wherever the two differ."""
    return [
        (row.id, kind, getattr(row, f"used_{kind}"), getattr(row, kind))
        for row in session.execute(_real())
        for kind in LIMITS
        if getattr(row, f"used_{kind}") != getattr(row, kind)
    ]


def recount(session: Session) -> int:
    """Set the counters from real counts, with every account row locked (after bulk inserts, or to
    mend drift). Returns how many accounts were wrong. The caller commits."""
    lock(session, session.scalars(sa.select(Account.id)).all())
    wrong = defaultdict(dict)
    for account_id, kind, _, real in drift(session):
        wrong[account_id][f"used_{kind}"] = real
    for account_id, values in wrong.items():
        session.execute(
            sa.update(Account).where(Account.id == account_id).values({**values, "updated_at": Account.updated_at})
        )
    return len(wrong)
