"""Placing an account on servers (models/placement.py): its services then go to those of them routed to
each backend, not to every routed server. Its sub-accounts without placements of their own follow it.

Placement is decided before an account has services: nothing moves what a server already holds, so
placing an account with mailboxes elsewhere would leave them behind, and its later deletes would miss
them. Such a change is refused in words."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Placement, Server
from portal.models.kinds import KINDS
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.words import gettext

# Every kind with a counter (models/kinds.py): domains, mailboxes, addresses, databases, users, apps.
USED = [f"used_{kind.limit}" for kind in KINDS if kind.limit]


def placed_on(account: Account) -> list[Server]:
    rows = sa.select(Placement.server_id).where(Placement.account_id == account.id)
    return list(db.session.scalars(sa.select(Server).where(Server.id.in_(rows)).order_by(Server.name)))


def _has_services(account: Account) -> bool:
    """The account, or a sub-account that follows its placement, has anything on a server."""
    followers = sa.select(Placement.account_id).where(Placement.account_id == Account.id).exists()
    query = sa.select(sa.func.count()).where(
        sa.or_(Account.id == account.id, sa.and_(Account.parent_id == account.id, ~followers)),
        sa.or_(*(getattr(Account, column) > 0 for column in USED)),
    )
    return bool(db.session.scalar(query))


def _refuse_with_services(account: Account) -> None:
    if _has_services(account):
        raise ServiceError(
            gettext(
                "%(account)s already has services on its servers; placement is chosen before an account has "
                "any, since nothing moves what a server holds.",
                account=account.name,
            )
        )


def place(actor: Actor | None, account: Account, servers: list[Server]) -> list[Server]:
    """Add these servers to the account's placement; the ones it is placed on already stay."""
    _refuse_with_services(account)
    have = {s.id for s in placed_on(account)}
    added = [s for s in servers if s.id not in have]
    for server in added:
        db.session.add(Placement(account_id=account.id, server_id=server.id))
    if added:
        db.session.flush()
        audit(actor, "account.place", obj=account, account_id=account.id, fields={"servers": [s.name for s in added]})
    return added


def unplace(actor: Actor | None, account: Account, servers: list[Server]) -> int:
    """Take these servers out of the account's placement (none left: every routed server again)."""
    _refuse_with_services(account)
    ids = [s.id for s in servers]
    gone = len(
        db.session.execute(
            sa.delete(Placement)
            .where(Placement.account_id == account.id, Placement.server_id.in_(ids))
            .returning(Placement.id)
        ).all()
    )
    if gone:
        audit(
            actor, "account.unplace", obj=account, account_id=account.id, fields={"servers": [s.name for s in servers]}
        )
    return gone
