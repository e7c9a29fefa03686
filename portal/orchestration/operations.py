"""The outbox: record operations for changed objects, in the caller's transaction."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Operation, OpState, Route, Server, Status
from portal.orchestration.backends import backends_for, get_backend
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


def requeue(server: Server, backend_name: str, object_type: str, object_id: int, *, actor=None) -> Operation:
    """One operation that re-applies an object's *current* desired state on one server.

    Pending and failed operations for it are superseded; a verifier they carry
    that never reached the server (nothing newer was applied) is carried over.
    """
    from portal.orchestration.jobs import MODELS

    same = sa.select(Operation).where(
        Operation.server_id == server.id, Operation.backend == backend_name,
        Operation.object_type == object_type, Operation.object_id == object_id,
    ).order_by(Operation.id)
    ops = db.session.scalars(same).all()
    last_applied = max((op.id for op in ops if op.state == OpState.APPLIED), default=0)
    secret, payload = None, (ops[-1].payload if ops else {})
    for op in ops:
        if op.state in (OpState.PENDING, OpState.FAILED):
            if op.secret and op.id > last_applied:
                secret = op.secret
            op.state, op.secret = OpState.SUPERSEDED, None
    obj = db.session.get(MODELS[object_type], object_id)
    backend = get_backend(backend_name)
    # The newest operation says what is wanted: a failed delete is still a delete.
    if obj is None or obj.status == Status.DELETING or (ops and ops[-1].action == "delete"):
        action, secret, account_id = "delete", None, (obj.account_id if obj else ops[-1].account_id if ops else None)
        if obj is not None:
            obj.status, obj.last_error = Status.DELETING, None
    else:
        action, payload, account_id = "save", backend.payload(obj, server), obj.account_id
        obj.status, obj.last_error = Status.PENDING, None
    op = Operation(server_id=server.id, backend=backend_name, object_type=object_type, object_id=object_id,
                   action=action, payload=payload, secret=secret, account_id=account_id, state=OpState.PENDING)
    if actor is not None:
        op.actor_id = actor.user.id
    db.session.add(op)
    mark_dirty(server.id)
    return op
