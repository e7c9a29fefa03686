"""Mailboxes and their vacation replies."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from portal.api.access import api_actor, scope
from portal.api.resource import Resource, api_blueprint, locate, register, with_fields
from portal.api.schemas import IF_MATCH, READ_HEADERS, WRITE_HEADERS, Id, Provisioned, QueryId, Text
from portal.api.writes import accepted, check_match, shown
from portal.models import Mailbox
from portal.models.naming import named
from portal.orchestration.operations import is_routed
from portal.security.scoping import Actor, get_scoped_or_404
from portal.services.mailboxes import (
    QUOTA_MAX_MB,
    QUOTA_MIN_MB,
    change_mailbox_password,
    change_quota,
    create_mailbox,
    delete_mailbox,
    set_autoreply,
)

blp = api_blueprint("mail", "Mailboxes, their vacation replies, addresses and forwards (scopes mail:read, mail:write).")

Quota = validate.Range(QUOTA_MIN_MB, QUOTA_MAX_MB)


class MailboxOut(Provisioned):
    domain_id = fields.Integer()
    local_part = fields.String()
    address = fields.String(metadata={"description": "as stored: the domain in A-labels"})
    name = fields.Function(named, metadata={"description": "as people read it: the domain in Unicode"})
    quota_mb = fields.Integer()


class MailboxCreate(Schema):
    local_part = Text(required=True, validate=validate.Length(1, 64))
    domain_id = Id(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))
    quota_mb = fields.Integer(strict=True, load_default=1024, validate=Quota)
    with_address = fields.Boolean(
        load_default=True, metadata={"description": "also make the address of the same name (where Postfix runs)"}
    )


class MailboxChange(Schema):
    password = fields.String(load_only=True, validate=validate.Length(1, 1024))
    quota_mb = fields.Integer(strict=True, validate=Quota)


def _create(actor: Actor, data: dict[str, Any]) -> Mailbox:
    return create_mailbox(
        actor,
        local_part=data["local_part"],
        domain_id=data["domain_id"],
        password=data["password"],
        quota_mb=data["quota_mb"],
        with_address=data["with_address"] and is_routed("postfix"),
    )


def _change(actor: Actor, mailbox: Mailbox, data: dict[str, Any]) -> Mailbox:
    if "quota_mb" in data:
        change_quota(actor, mailbox.id, data["quota_mb"])
    if "password" in data:
        change_mailbox_password(actor, mailbox.id, data["password"])
    return mailbox


register(
    blp,
    Resource(
        "mailboxes",
        Mailbox,
        "mail",
        MailboxOut,
        create=MailboxCreate,
        created=_create,
        update=MailboxChange,
        updated=_change,
        deleted=lambda actor, mailbox: delete_mailbox(actor, mailbox.id),
        filters=type("MailboxFilters", (Schema,), {"domain_id": QueryId(load_default=None)}),
        narrow=lambda query, args: query.where(Mailbox.domain_id == args["domain_id"]) if args["domain_id"] else query,
        id_name="mailbox_id",
    ),
)


class Vacation(Schema):
    enabled = fields.Boolean(required=True, attribute="autoreply_enabled")
    subject = Text(load_default="", validate=validate.Length(max=200), attribute="autoreply_subject")
    message = Text(load_default="", multiline=True, validate=validate.Length(max=5000), attribute="autoreply_message")
    start = fields.Date(load_default=None, allow_none=True, attribute="autoreply_start")
    end = fields.Date(load_default=None, allow_none=True, attribute="autoreply_end")


VACATION = "/mailboxes/<int:mailbox_id>/vacation"


@blp.route(VACATION, endpoint="vacation_get", methods=["GET"])
@blp.route("/accounts/<int:account_id>" + VACATION, endpoint="sub_vacation_get", methods=["GET"])
@blp.response(200, Vacation, headers=READ_HEADERS)
@scope("mail:read")
def vacation(mailbox_id: int) -> Response:
    """Read a mailbox's vacation reply."""
    return shown(Vacation(), get_scoped_or_404(Mailbox, mailbox_id, api_actor()))


@blp.route(VACATION, endpoint="vacation_put", methods=["PUT"])
@blp.route("/accounts/<int:account_id>" + VACATION, endpoint="sub_vacation_put", methods=["PUT"])
@blp.response(202, Vacation, headers=WRITE_HEADERS)
@blp.doc(parameters=[IF_MATCH])
@scope("mail:write")
@blp.arguments(Vacation)
def set_vacation(data: dict[str, Any], mailbox_id: int) -> Response:
    """Set a mailbox's vacation reply (202: poll Location)."""
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, api_actor())
    check_match(Vacation(), mailbox)

    def change() -> Mailbox:
        return set_autoreply(
            with_fields(data),
            mailbox.id,
            enabled=data["autoreply_enabled"],
            subject=data["autoreply_subject"],
            message=data["autoreply_message"],
            start=data["autoreply_start"],
            end=data["autoreply_end"],
        )

    return accepted(Vacation(), change, locate("mail.mailboxes_get", "mailbox_id"))
