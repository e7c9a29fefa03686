"""Where an account's services live: the servers it (or its reseller) is placed on, or everywhere.

Without placements every routed server gets every object (a backend on two servers keeps both in
step). With them, a backend routed to many servers shares the accounts out among them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.models import Account, Placement, Server
from portal.orchestration.dispatch import PLACED


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


def placed_here(account_id: sa.ColumnElement[int], server_id: int) -> sa.ColumnElement[bool]:
    """SQL: does the object of this account column belong on the server (placed there, or nowhere)?"""
    own = aliased(Placement)
    inherited = aliased(Placement)
    owner = aliased(Account)
    has_own = sa.exists().where(own.account_id == account_id)
    from_parent = (inherited.account_id == owner.parent_id, owner.id == account_id)
    here = sa.exists().where(own.account_id == account_id, own.server_id == server_id)
    inherited_here = sa.exists().where(*from_parent, inherited.server_id == server_id)
    return sa.or_(here, sa.and_(~has_own, sa.or_(inherited_here, ~sa.exists().where(*from_parent))))
