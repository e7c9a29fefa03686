"""audit(): one AuditEvent per change, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from portal.extensions import db
from portal.models import AuditEvent
from portal.models.naming import named
from portal.models.validators import shown
from portal.security.scoping import Actor

SECRET_FIELDS = {"password", "confirm", "key", "secret", "verifier", "password_hash"}


def audit(
    actor: Actor | None,
    action: str,
    *,
    obj: object | None = None,
    account_id: int | None = None,
    fields: dict[str, Any] | None = None,
) -> AuditEvent:
    """`actor` None: the operator's command line, or a public page (a set-password link)."""
    given = {**(actor.fields or {}), **(fields or {})} if actor else (fields or {})
    clean = {k: v for k, v in given.items() if k not in SECRET_FIELDS}
    event = AuditEvent(
        actor_id=actor.user.id if actor else None,
        real_actor_id=actor.real_user.id if actor and actor.real_user else None,
        account_id=account_id if account_id is not None else getattr(obj, "account_id", None),
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        object_name=shown(named(obj), 254),  # as people read it, within the column, and marked "…" if cut
        action=action,
        fields=clean,
        ip=(request.remote_addr or "") if has_request_context() else "",
        token_id=actor.token.id if actor and actor.token else None,
        token_name=actor.token.name if actor and actor.token else "",
    )
    db.session.add(event)
    return event
