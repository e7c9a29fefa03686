"""Addresses: names on the account's domains that deliver to its mailboxes and forward elsewhere."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from portal.api.resource import Resource, api_blueprint, register
from portal.api.schemas import Id, Provisioned, QueryId, Text
from portal.models import Address
from portal.models.naming import named
from portal.security.scoping import Actor
from portal.services.addresses import MAX_FORWARDS, create_address, delete_address, update_address

# Not "addresses": the pages' blueprint has that name.
blp = api_blueprint("api_addresses", "Addresses and forwards (scopes mail:read, mail:write).")


Mailboxes = fields.List(Id(), metadata={"description": "the ids of the mailboxes it delivers to"})
Forwards = fields.List(
    Text(validate=validate.Length(max=254)),
    validate=validate.Length(max=MAX_FORWARDS),
    metadata={"description": "e-mail addresses anywhere it forwards to"},
)


class AddressOut(Provisioned):
    domain_id = fields.Integer()
    local_part = fields.String(metadata={"description": "empty for the catch-all"})
    catch_all = fields.Boolean()
    address = fields.String(attribute="key", metadata={"description": "as stored (@domain: the catch-all)"})
    name = fields.Function(named, metadata={"description": "as people read it (*@domain: the catch-all)"})
    mailbox_ids = fields.Function(lambda address: [m.id for m in address.mailboxes])
    forwards = fields.List(fields.String(), metadata={"description": "as stored: the domains in A-labels"})


class AddressCreate(Schema):
    local_part = Text(load_default="", validate=validate.Length(max=64))
    catch_all = fields.Boolean(
        load_default=False, metadata={"description": "every name on the domain not otherwise taken"}
    )
    domain_id = Id(required=True)
    mailbox_ids = fields.List(Id(), load_default=list, metadata=Mailboxes.metadata)
    forwards = fields.List(
        Text(validate=validate.Length(max=254)),
        load_default=list,
        validate=validate.Length(max=MAX_FORWARDS),
        metadata=Forwards.metadata,
    )


class AddressChange(Schema):
    mailbox_ids = Mailboxes
    forwards = Forwards


def _create(actor: Actor, data: dict[str, Any]) -> Address:
    return create_address(
        actor,
        local_part=data["local_part"],
        catch_all=data["catch_all"],
        domain_id=data["domain_id"],
        mailbox_ids=data["mailbox_ids"],
        forwards=data["forwards"],
    )


def _change(actor: Actor, address: Address, data: dict[str, Any]) -> Address:
    """What is not sent stays as it is."""
    return update_address(
        actor,
        address.id,
        mailbox_ids=data.get("mailbox_ids", [m.id for m in address.mailboxes]),
        forwards=data.get("forwards", list(address.forwards or [])),
    )


register(
    blp,
    Resource(
        "addresses",
        Address,
        "mail",
        AddressOut,
        create=AddressCreate,
        created=_create,
        update=AddressChange,
        updated=_change,
        deleted=lambda actor, address: delete_address(actor, address.id),
        filters=type("AddressFilters", (Schema,), {"domain_id": QueryId(load_default=None)}),
        narrow=lambda query, args: query.where(Address.domain_id == args["domain_id"]) if args["domain_id"] else query,
        id_name="address_id",
    ),
)
