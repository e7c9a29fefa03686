"""The account's activity: its audit events, as the Activity page lists them, in raw fields.

The page words each event (blueprints/events.py); a program gets what it is made of: the action
(`mailbox.save`), the object, who acted (and the real person behind an impersonation), the API token
if one was used, and the fields it changed (never a secret). Oldest first, by id: a client keeps the
last cursor and reads on from there later.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.orm import joinedload

from portal.api.access import api_actor, scope
from portal.api.paging import page
from portal.api.resource import api_blueprint, listed
from portal.api.schemas import PageArgs
from portal.models import AuditEvent
from portal.security.scoping import scoped

blp = api_blueprint("api_activity", "What happened in the account, who did it and how (scope activity:read).")


class ActivityEvent(Schema):
    id = fields.Integer()
    account_id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"example": "mailbox.save"})
    object_type = fields.String(metadata={"example": "Mailbox"})
    object_id = fields.Integer(allow_none=True)
    object_name = fields.String(metadata={"description": "what the object was called then"})
    actor = fields.Function(
        lambda e: e.actor.email if e.actor else None, allow_none=True, metadata={"description": "null: Hostdeck"}
    )
    real_actor = fields.Function(
        lambda e: e.real_actor.email if e.real_actor else None,
        allow_none=True,
        metadata={"description": "support or the reseller behind an impersonation"},
    )
    token_name = fields.Function(
        lambda e: e.token_name or None, allow_none=True, metadata={"description": "the API token used, if any"}
    )
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={"description": "what changed"})
    ip = fields.String()
    created_at = fields.DateTime()


@blp.route("/activity", endpoint="events", methods=["GET"])
@blp.route("/accounts/<int:account_id>/activity", endpoint="sub_events", methods=["GET"])
@blp.response(200, ActivityEvent(many=True))
@scope("activity:read")
@blp.arguments(PageArgs, location="query")
def events(query_args: dict[str, Any]) -> Response:
    """The account's activity, oldest first: who changed what, and through which API token."""
    query = scoped(AuditEvent, api_actor()).options(joinedload(AuditEvent.actor), joinedload(AuditEvent.real_actor))
    rows, headers = page(query, AuditEvent, query_args)
    return listed(ActivityEvent(many=True), rows, headers)
