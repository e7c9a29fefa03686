"""Websites' automatic certificates, to read: who issued them, when they expire and renew, and why one
waits, in plain words (the CA's own words stay for staff)."""

from __future__ import annotations

from marshmallow import Schema, fields

from portal.api.resource import Resource, api_blueprint, register
from portal.api.schemas import QueryId
from portal.models import Certificate
from portal.models.validators import unicode_name
from portal.orchestration.certificates_words import certificate_words

blp = api_blueprint("api_certificates", "Websites' automatic certificates, read only (scope web:read).")


class CertificateOut(Schema):
    id = fields.Integer(dump_only=True)
    account_id = fields.Integer(dump_only=True)
    website_id = fields.Integer(dump_only=True)
    state = fields.Function(
        lambda cert: str(cert.state), metadata={"enum": ["waiting", "ordering", "issued", "failed"]}
    )
    names = fields.List(fields.String(), metadata={"description": "the names it covers, as stored: A-labels"})
    display_names = fields.Function(
        lambda cert: [unicode_name(str(n)) for n in cert.names or []],
        metadata={"description": "the same as people read them: Unicode"},
    )
    issuer = fields.String()
    not_before = fields.DateTime(allow_none=True)
    not_after = fields.DateTime(allow_none=True, metadata={"description": "when it expires"})
    renew_at = fields.DateTime(allow_none=True, metadata={"description": "when its renewal starts"})
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "when Hostdeck orders (again)"})
    reason = fields.Function(
        certificate_words, metadata={"description": "why it waits or what failed, in plain words; empty: nothing"}
    )
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


register(
    blp,
    Resource(
        "certificates",
        Certificate,
        "web",
        CertificateOut,
        filters=type("CertificateFilters", (Schema,), {"website_id": QueryId(load_default=None)}),
        narrow=lambda query, args: (
            query.where(Certificate.website_id == args["website_id"]) if args["website_id"] else query
        ),
        id_name="certificate_id",
    ),
)
