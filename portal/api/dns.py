"""A domain's own DNS records, those its customer adds to what Hostdeck publishes."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from portal.api.resource import Resource, api_blueprint, register
from portal.api.schemas import Id, Provisioned, QueryId, Text
from portal.models.dns import RECORD_TYPES, DnsRecord
from portal.security.scoping import Actor
from portal.services.dns import add_record, delete_record, edit_record
from portal.services.dns_values import TTL_MAX, TTL_MIN, typed_value

# Not "dns": the pages' blueprint has that name.
blp = api_blueprint("api_dns", "Custom DNS records of verified domains (scopes dns:read, dns:write).")


Ttl = validate.Range(TTL_MIN, TTL_MAX)
NAME_HELP = "relative to the zone (www), a full name in it, or @ (or empty) for the zone itself"


class DnsRecordOut(Provisioned):
    domain_id = fields.Integer()
    name = fields.String(metadata={"description": "relative to the zone; @ is the zone itself"})
    rtype = fields.String(metadata={"enum": list(RECORD_TYPES)})
    ttl = fields.Integer()
    value = fields.Function(
        lambda row: typed_value(row.rtype, row.value), metadata={"description": "as it is typed (TXT unquoted)"}
    )


class DnsRecordCreate(Schema):
    domain_id = Id(required=True)
    name = Text(load_default="", validate=validate.Length(max=1000), metadata={"description": NAME_HELP})
    rtype = fields.String(required=True, validate=validate.OneOf(RECORD_TYPES))
    ttl = fields.Integer(strict=True, load_default=3600, validate=Ttl)
    value = Text(required=True, validate=validate.Length(1, 5000))


class DnsRecordChange(Schema):
    name = Text(validate=validate.Length(max=1000), metadata={"description": NAME_HELP})
    rtype = fields.String(validate=validate.OneOf(RECORD_TYPES))
    ttl = fields.Integer(strict=True, validate=Ttl)
    value = Text(validate=validate.Length(1, 5000))


def _create(actor: Actor, data: dict[str, Any]) -> DnsRecord:
    return add_record(
        actor, data["domain_id"], name=data["name"], rtype=data["rtype"], ttl=data["ttl"], value=data["value"]
    )


def _change(actor: Actor, row: DnsRecord, data: dict[str, Any]) -> DnsRecord:
    """What is not sent stays as it is (the value as the edit form shows it)."""
    return edit_record(
        actor,
        row.id,
        name=data.get("name", row.name),
        rtype=data.get("rtype", row.rtype),
        ttl=data.get("ttl", row.ttl),
        value=data.get("value", typed_value(row.rtype, row.value)),
    )


register(
    blp,
    Resource(
        "dns_records",
        DnsRecord,
        "dns",
        DnsRecordOut,
        create=DnsRecordCreate,
        created=_create,
        update=DnsRecordChange,
        updated=_change,
        deleted=lambda actor, row: delete_record(actor, row.id),
        filters=type("DnsRecordFilters", (Schema,), {"domain_id": QueryId(load_default=None)}),
        narrow=lambda query, args: (
            query.where(DnsRecord.domain_id == args["domain_id"]) if args["domain_id"] else query
        ),
        id_name="record_id",
    ),
)
