"""Re-applying changes: staff retry a log or resync a server; a customer tries one failed object again."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, Operation, OpState, Route, Server
from portal.models.kinds import kind_named
from portal.models.status import Provisioned
from portal.orchestration.backends import get_backend
from portal.orchestration.operations import requeue, requeue_all
from portal.orchestration.placement import accounts_here
from portal.orchestration.proof import unproven_domain
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.words import gettext


def retry_log(actor: Actor, log_id: int) -> int:
    """Re-apply the current desired state of every object the log touched. Returns how many."""
    entry = db.get_or_404(BackendLog, log_id)
    targets = {
        (op.backend, op.object_type, op.object_id)
        for op in entry.operations
        if op.state != OpState.SUPERSEDED or op.backend_log_id == entry.id
    }
    if not targets:
        raise ServiceError(gettext("This log applied nothing that could be retried."))
    for backend, object_type, object_id in sorted(targets):
        requeue(entry.server, backend, object_type, object_id, actor=actor)
    audit(actor, "log.retry", obj=entry, fields={"objects": len(targets)})
    return len(targets)


def resync_server(actor: Actor, server_id: int) -> int:
    """Re-apply the desired state of everything routed to a server (of the accounts placed there, or
    nowhere), in one script."""
    server = db.get_or_404(Server, server_id)
    count = 0
    here = accounts_here(server.id)
    for backend_name in db.session.scalars(sa.select(Route.backend).where(Route.server_id == server.id)):
        for object_type in get_backend(backend_name).handles:
            model = kind_named(object_type).model
            backend = get_backend(backend_name)
            query = sa.select(model).order_by(model.id)
            if here is not None:
                query = query.where(model.account_id.in_(here))
            objs = [
                obj
                for obj in db.session.scalars(query)
                # A domain nobody has proved, and what is on it, stay off the server.
                if backend.wants(obj) and unproven_domain(obj) is None
            ]
            if objs:
                count += len(requeue_all(server, backend_name, objs, actor=actor))
    if not count:
        raise ServiceError(gettext("Nothing is routed to %(server)s yet.", server=server.name))
    audit(actor, "server.resync", obj=server, fields={"objects": count})
    return count


def retry_object(actor: Actor, obj: Provisioned) -> int:
    """Re-apply one object's current desired state where it failed (each server and backend whose
    newest operation for it failed). Returns on how many; audited as <kind>.retry."""
    object_type = type(obj).__name__
    failed = db.session.execute(
        sa.select(Operation.server_id, Operation.backend)
        .where(
            Operation.object_type == object_type,
            Operation.object_id == obj.id,
            Operation.state == OpState.FAILED,
        )
        .distinct()
    ).all()
    if not failed:
        raise ServiceError(gettext("Nothing of this failed that could be tried again."))
    for server_id, backend in sorted(failed):
        requeue(db.session.get_one(Server, server_id), backend, object_type, obj.id, actor=actor)
    audit(actor, f"{object_type.lower()}.retry", obj=obj, fields={"servers": len({s for s, _ in failed})})
    return len(failed)
