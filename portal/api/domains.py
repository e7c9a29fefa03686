"""Domains: added, proved with a TXT record ("Check now"), deleted; their DNSSEC DS records."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from portal.api.access import api_actor, scope
from portal.api.problems import problem
from portal.api.resource import Resource, api_blueprint, locate, register, with_fields
from portal.api.schemas import WRITE_HEADERS, Provisioned, Text
from portal.api.writes import accepted
from portal.extensions import db
from portal.models import Domain
from portal.orchestration.proof import describe as describe_proof
from portal.orchestration.proof import lost, proof_words, proven, record_name, token
from portal.orchestration.proving import held_elsewhere
from portal.security.scoping import Actor, get_scoped_or_404
from portal.services.domains import TooSoon, add_domain, check_domain, delete_domain

# Not "domains": the pages' blueprint has that name.
blp = api_blueprint("api_domains", "Domains and the proof that they are yours (scopes domains:read, domains:write).")


def _proof(domain: Domain) -> tuple[str, str]:
    """The proof state's code and its words, as the domain's page shows them: a claim another account
    has proved since reads as lost."""
    if not proven(domain):
        holder = held_elsewhere(domain.name, domain.account_id)
        if holder is not None:
            code, args = lost(domain, holder)
            return code.value, describe_proof(domain, code, args)
    return domain.proof_code, proof_words(domain)


class ProofRecord(Schema):
    name = fields.String(metadata={"description": "the TXT record's full name"})
    type = fields.String(metadata={"enum": ["TXT"]})
    value = fields.String(metadata={"description": "what the TXT record must hold"})


class DomainOut(Provisioned):
    name = fields.String(metadata={"description": "as stored: A-labels"})
    display_name = fields.String(metadata={"description": "as people read it: Unicode"})
    verified = fields.Function(proven, metadata={"description": "proved (or counted as proved): served"})
    verified_at = fields.DateTime(allow_none=True)
    proof_code = fields.Function(lambda d: _proof(d)[0], metadata={"description": "the proof's state, as a code"})
    proof_words = fields.Function(lambda d: _proof(d)[1], metadata={"description": "the same in plain words"})
    proof_checked_at = fields.DateTime(allow_none=True)
    proof_next_check_at = fields.DateTime(allow_none=True)
    proof_record = fields.Function(
        lambda d: {"name": record_name(d.name), "type": "TXT", "value": token(d.account_id, d.name)},
        metadata={"description": "the TXT record to add to prove the domain"},
    )
    dnssec = fields.Boolean()
    ds_records = fields.Function(
        lambda d: [line for line in (d.dnssec_ds or "").splitlines() if line.strip()],
        metadata={"description": "the DS records to give the registrar, once signed"},
    )


class DomainCreate(Schema):
    name = Text(required=True, validate=validate.Length(1, 253))


def _create(actor: Actor, data: dict[str, Any]) -> Domain:
    return add_domain(actor, data["name"])


register(
    blp,
    Resource(
        "domains",
        Domain,
        "domains",
        DomainOut,
        create=DomainCreate,
        created=_create,
        deleted=lambda actor, domain: delete_domain(actor, domain.id),
        id_name="domain_id",
    ),
)

CHECK = "/domains/<int:domain_id>/check"


@blp.route(CHECK, endpoint="check", methods=["POST"])
@blp.route("/accounts/<int:account_id>" + CHECK, endpoint="sub_check", methods=["POST"])
@blp.response(
    202,
    DomainOut,
    headers={"Location": WRITE_HEADERS["Location"]},
    description="Checked, or handed to a worker: poll Location for the proof's state",
)
@blp.alt_response(429, description="Checked a moment ago, or too many checks: see Retry-After")
@scope("domains:write")
def check(domain_id: int) -> Response:
    """Check now: look for the domain's TXT record."""
    domain = get_scoped_or_404(Domain, domain_id, api_actor())

    def change() -> Domain:
        check_domain(with_fields({"id": domain.id}), domain.id)
        return db.session.get(Domain, domain.id) or domain

    try:
        return accepted(DomainOut(), change, locate("api_domains.domains_get", "domain_id"))
    except TooSoon as refused:
        db.session.rollback()
        return problem(429, str(refused.message), headers={"Retry-After": str(refused.retry_after)})
