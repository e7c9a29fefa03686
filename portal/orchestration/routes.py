"""Which servers run a backend, read once per transaction (a request records for several backends:
a mailbox for Dovecot and Postfix, its address for Postfix). Low in the package, so that backends
may ask too (a zone publishes the web servers' addresses)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Route, Server

ROUTES = "hostdeck.routes"  # routed_servers() caches here until the transaction ends
PLACED = "hostdeck.placed"  # placement.placed_servers() too


def routed_servers(backend: str) -> list[Server]:
    """The servers that run a backend. Every route is read at once, once per transaction."""
    if ROUTES not in db.session.info:
        routes: dict[str, list[Server]] = {}
        for name, server in db.session.execute(
            sa.select(Route.backend, Server).join(Route.server).order_by(Route.backend, Server.id)
        ):
            routes.setdefault(name, []).append(server)
        db.session.info[ROUTES] = routes
    cached: dict[str, list[Server]] = db.session.info[ROUTES]
    return cached.get(backend, [])
