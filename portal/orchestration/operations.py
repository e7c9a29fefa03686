"""The outbox: record operations for changed objects, in the caller's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Operation, OpState, Server, Status
from portal.models.kinds import kind_named
from portal.models.status import Provisioned
from portal.orchestration.backends import backends_for, get_backend
from portal.orchestration.backends.base import Backend
from portal.orchestration.dispatch import FAILED, INSERTED, mark_dirty
from portal.orchestration.placement import place
from portal.orchestration.proof import check_served
from portal.orchestration.routes import routed_servers
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.words import gettext


class NoServer(Exception):
    """No server runs a backend this object needs. Its message is for the customer."""


def _no_server(wanted: list[Backend[Any]]) -> NoServer:
    # Where the customer chose the service (a database engine), name it.
    named = {b.service for b in wanted if b.service}
    if len(named) == 1:
        return NoServer(gettext("No %(service)s server is set up yet. Please contact support.", service=named.pop()))
    return NoServer(gettext("No server is set up for this yet. Please contact support."))


def is_routed(backend: str) -> bool:
    """Does any server run this backend? (Addresses mean nothing without Postfix, say.)"""
    return bool(routed_servers(backend))


def is_served(object_type: str) -> bool:
    """Could record() place this kind of object anywhere: does a server run one of its backends? A page
    asks before it shows its form (record() would refuse it with NoServer)."""
    return any(is_routed(b.name) for b in backends_for(object_type))


def take_over(
    server_id: int,
    backend: str,
    object_type: str,
    object_id: int,
    states: tuple[OpState, ...],
    *,
    new_password: bool = False,
) -> str | None:
    """Supersede an object's operations in `states` on one server, wiping their verifiers.

    Returns the verifier that must still reach the server: the newest password-setting
    operation's, if that one is among those superseded (a newer password wins, even an
    applied or running one, so a retry can never put an old password back). With a
    `new_password`, pending ones lose theirs too: it replaces them.
    """
    ops = db.session.scalars(
        sa.select(Operation)
        .where(
            Operation.server_id == server_id,
            Operation.backend == backend,
            Operation.object_type == object_type,
            Operation.object_id == object_id,
        )
        .order_by(Operation.id)
    ).all()
    return _take_over(list(ops), states, new_password=new_password)


def _take_over(ops: list[Operation], states: tuple[OpState, ...], *, new_password: bool = False) -> str | None:
    """take_over() on one object's operations on one server, in the order they were recorded."""
    carried = None
    for op in ops:
        if op.sets_password:
            carried = op.secret if op.state in states else None
        if op.state in states:
            op.state, op.secret = OpState.SUPERSEDED, None
        elif new_password and op.state == OpState.PENDING:
            op.secret = None
    return carried


FailedKey = tuple[int, str, str, int]  # (server id, backend, object type, object id)


def failed_here(account_id: int | None) -> set[FailedKey]:
    """What of an account failed and waits, read once per account and transaction: a change with
    nothing failed to take over (nearly always) then asks nothing more, and a suspension of thousands
    of objects does not ask once for each."""
    cache: dict[int | None, set[FailedKey]] = db.session.info.setdefault(FAILED, {})
    if account_id not in cache:
        rows = db.session.execute(
            sa.select(Operation.server_id, Operation.backend, Operation.object_type, Operation.object_id).where(
                Operation.account_id.is_not_distinct_from(account_id), Operation.state == OpState.FAILED
            )
        )
        cache[account_id] = {tuple(row) for row in rows}
    return cache[account_id]


def password_lost(obj: Provisioned) -> bool:
    """Whether the newest password given to obj never reached a server, and Hostdeck no longer has its
    verifier (wiped after FAILED_SECRET_DAYS): its page asks for a new one.

    Per server and backend, the newest operation that set a password decides: applied, or still
    holding its verifier, is fine. (A change that took a password over is marked as setting it.)
    """
    newest: dict[tuple[int, str], bool] = {}
    rows = db.session.execute(
        sa.select(Operation.server_id, Operation.backend, Operation.state, Operation.secret.is_(None))
        .where(
            Operation.object_type == type(obj).__name__,
            Operation.object_id == obj.id,
            Operation.sets_password.is_(True),
        )
        .order_by(Operation.id)
    )
    for server_id, backend, state, wiped in rows:
        newest[(server_id, backend)] = state != OpState.APPLIED and wiped
    return any(newest.values())


def _new_op(
    server: Server,
    backend: Backend[Any],
    obj_type: str,
    obj_id: int,
    action: str,
    payload: dict[str, Any],
    account_id: int | None,
    secret: str | None,
    actor: Actor | None,
) -> Operation:
    op = Operation(
        server_id=server.id,
        backend=backend.name,
        object_type=obj_type,
        object_id=obj_id,
        action=action,
        payload=payload,
        account_id=account_id,
        secret=secret,
        sets_password=secret is not None,
        state=OpState.PENDING,
    )
    if actor is not None:
        op.actor_id = actor.user.id
        op.real_actor_id = actor.real_user.id if actor.real_user else None
    db.session.add(op)
    mark_dirty(server.id, (op.actor_id, op.real_actor_id))
    return op


def record(
    obj: Provisioned, action: str, *, actor: Actor | None = None, password: str | None = None
) -> list[Operation]:
    """One Operation per backend and routed server the account is placed on (placement.py). A password
    becomes each server's verifier here.

    Failed operations for the object are taken over: the new one carries what they still owe.
    """
    if action not in ("save", "delete"):
        raise ValueError(f"unknown action {action!r}")
    if action == "save":
        check_served(obj)  # no server hears of a domain nobody has proved, nor of anything on it
    object_type = type(obj).__name__
    # An object this transaction inserted has no operations to take over: that saves a query each.
    fresh = (object_type, obj.id) in db.session.info.get(INSERTED, ())
    ops: list[Operation] = []
    wanted = backends_for(object_type, obj)
    for backend in wanted:
        for server in place(routed_servers(backend.name), obj.account_id):
            verifier = backend.verifier(server, password) if password is not None else None
            # Something to take over only where it failed; a new password also wipes pending ones'.
            owed = (
                None
                if fresh
                or (
                    verifier is None
                    and (server.id, backend.name, object_type, obj.id) not in failed_here(obj.account_id)
                )
                else take_over(
                    server.id, backend.name, object_type, obj.id, (OpState.FAILED,), new_password=verifier is not None
                )
            )
            secret = verifier if verifier is not None else owed
            ops.append(
                _new_op(
                    server,
                    backend,
                    object_type,
                    obj.id,
                    action,
                    backend.payload(obj, server),
                    obj.account_id,
                    secret if action == "save" else None,
                    actor,
                )
            )
    if not ops:  # e.g. mail without Postfix is fine, but not without any mail server at all
        raise _no_server(wanted)
    audit(
        actor,
        f"{object_type.lower()}.{action}",
        obj=obj,
        fields={"password_changed": True} if password is not None else {},
    )
    return ops


def requeue(
    server: Server, backend_name: str, object_type: str, object_id: int, *, actor: Actor | None = None
) -> Operation:
    """One operation that re-applies an object's *current* desired state on one server."""
    ops = db.session.scalars(
        sa.select(Operation)
        .where(
            Operation.server_id == server.id,
            Operation.backend == backend_name,
            Operation.object_type == object_type,
            Operation.object_id == object_id,
        )
        .order_by(Operation.id)
    ).all()
    obj = db.session.get(kind_named(object_type).model, object_id)
    return _requeue(server, backend_name, object_type, object_id, obj, list(ops), actor)


REQUEUE_CHUNK = 1000


def requeue_all(
    server: Server, backend_name: str, objects: list[Provisioned], *, actor: Actor | None = None
) -> list[Operation]:
    """requeue() for many objects of one kind on one server (a resync), their operations read in one
    query per thousand rather than two queries each."""
    new: list[Operation] = []
    for start in range(0, len(objects), REQUEUE_CHUNK):
        chunk = objects[start : start + REQUEUE_CHUNK]
        object_type = type(chunk[0]).__name__
        history: dict[int, list[Operation]] = {obj.id: [] for obj in chunk}
        for op in db.session.scalars(
            sa.select(Operation)
            .where(
                Operation.server_id == server.id,
                Operation.backend == backend_name,
                Operation.object_type == object_type,
                Operation.object_id.in_(list(history)),
            )
            .order_by(Operation.id)
        ):
            history[op.object_id].append(op)
        new += [_requeue(server, backend_name, object_type, o.id, o, history[o.id], actor) for o in chunk]
    return new


def _requeue(
    server: Server,
    backend_name: str,
    object_type: str,
    object_id: int,
    obj: Provisioned | None,
    ops: list[Operation],
    actor: Actor | None,
) -> Operation:
    """requeue() given the object (None: gone) and its operations on the server, oldest first."""
    newest = ops[-1] if ops else None
    owed = _take_over(ops, (OpState.PENDING, OpState.FAILED))
    backend = get_backend(backend_name)
    # The newest operation says what is wanted: a failed delete is still a delete.
    if obj is None or obj.status == Status.DELETING or (newest is not None and newest.action == "delete"):
        payload = newest.payload if newest is not None else {}
        account_id = obj.account_id if obj is not None else (newest.account_id if newest else None)
        if obj is not None:
            obj.status, obj.last_error = Status.DELETING, None
        return _new_op(server, backend, object_type, object_id, "delete", payload, account_id, None, actor)
    check_served(obj)
    obj.status, obj.last_error = Status.PENDING, None
    return _new_op(
        server, backend, object_type, object_id, "save", backend.payload(obj, server), obj.account_id, owed, actor
    )
