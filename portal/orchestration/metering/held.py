"""Which objects of a kind a server holds: the rule the outbox places them by, read for a round.

record() gives an object's operations to the servers routed to its backend that its account is
placed on (placement.place); placement.accounts_here() is that rule seen from one server. The
collector has already been chosen by the server's routes (rounds.collectors_for).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.models import Server, Status
from portal.orchestration.routes import routed_servers


def held(model: Any, here: list[int] | None) -> list[sa.ColumnElement[bool]]:
    """What narrows a query of `model` to the objects that belong on a server, given the accounts
    placed there (`placement.accounts_here()`, asked once per round and collector). One being deleted
    is no longer the account's use (and may be gone already); a pending one is kept, as it is mostly
    one already there and being changed: a new one reads 0 until its files exist."""
    found = [model.status != Status.DELETING]
    if here is not None:
        found.append(model.account_id.in_(here))
    return found


def routed_here(backend: str, server: Server) -> bool:
    """Does the server run this backend too (a web app's folder is made by PHP-FPM's backend)?"""
    return any(s.id == server.id for s in routed_servers(backend))
