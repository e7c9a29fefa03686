"""Where an account's services live: the servers it (or its reseller) is placed on, or everywhere.

Without placements every routed server gets every object (a backend on two servers keeps both in
step). With them, a backend routed to many servers shares the accounts out among them.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Placement, Server
from portal.orchestration.routes import PLACED


def placed_servers(account_id: int | None) -> frozenset[int] | None:
    """The ids of the servers an account is placed on (its own placements, else its reseller's);
    None when neither has any: every routed server. Read once per account and transaction."""
    if account_id is None:
        return None
    cache: dict[int, frozenset[int] | None] = db.session.info.setdefault(PLACED, {})
    if account_id not in cache:
        parent = sa.select(Account.parent_id).where(Account.id == account_id).scalar_subquery()
        rows = db.session.execute(
            sa.select(Placement.account_id, Placement.server_id).where(
                sa.or_(Placement.account_id == account_id, Placement.account_id == parent)
            )
        ).all()
        own = frozenset(s for a, s in rows if a == account_id)
        inherited = frozenset(s for a, s in rows if a != account_id)
        cache[account_id] = own or inherited or None
    return cache[account_id]


def place(servers: list[Server], account_id: int | None) -> list[Server]:
    """Of a backend's routed servers, those the account's objects go to."""
    placed = placed_servers(account_id)
    return servers if placed is None else [s for s in servers if s.id in placed]


def accounts_here(server_id: int) -> list[int] | None:
    """The accounts whose objects belong on the server (placed there, or nowhere); None: every one.
    Worked out here from two small reads, so that the caller's query of objects filters on an indexed
    account_id (a correlated test per object row scanned every mailbox, and PostgreSQL JIT-compiled it: a second a server)."""
    placed: dict[int, set[int]] = {}
    for account_id, placed_on in db.session.execute(sa.select(Placement.account_id, Placement.server_id)):
        placed.setdefault(account_id, set()).add(placed_on)
    if not placed:
        return None
    here = []
    for account_id, parent_id in db.session.execute(sa.select(Account.id, Account.parent_id)):
        servers = placed.get(account_id) or (placed.get(parent_id) if parent_id else None)
        if servers is None or server_id in servers:
            here.append(account_id)
    return here
