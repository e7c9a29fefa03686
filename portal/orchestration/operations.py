"""The outbox: record operations for changed objects, in the caller's transaction."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Operation, OpState, Route, Server
from portal.orchestration.backends import backends_for
from portal.orchestration.dispatch import mark_dirty


class NoServer(Exception):
    """No server runs a backend this object needs."""


def record(obj: Any, action: str, *, actor=None, password: str | None = None) -> list[Operation]:
    """One Operation per backend and routed server. A password becomes each server's verifier here."""
    assert action in ("save", "delete")
    object_type = type(obj).__name__
    ops: list[Operation] = []
    for backend in backends_for(object_type):
        servers = db.session.scalars(
            sa.select(Server).join(Route).where(Route.backend == backend.name).order_by(Server.id)
        ).all()
        if not servers:
            raise NoServer(f"No server is set up for {backend.name} yet. Please contact support.")
        for server in servers:
            op = Operation(
                server_id=server.id, backend=backend.name, object_type=object_type, object_id=obj.id,
                action=action, payload=backend.payload(obj, server), account_id=obj.account_id,
                secret=backend.verifier(server, password) if password is not None else None,
                state=OpState.PENDING,
            )
            if actor is not None:
                op.actor_id = actor.user.id
                op.real_actor_id = actor.real_user.id if actor.real_user else None
            db.session.add(op)
            mark_dirty(server.id)
            ops.append(op)
    return ops
