"""dns-01 answers (wildcard names) through the zones Hostdeck publishes: the values go into
Certificate.dns_challenges, which zones.published() turns into `_acme-challenge` TXT records, and the
zones are applied on the DNS servers before the CA is told to look. Only for domains whose DNS is here."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Certificate, Domain, Operation, OpState
from portal.orchestration.acme import CaError, Challenge
from portal.orchestration.certificates_scripts import ScriptFailed
from portal.orchestration.jobs import apply_server
from portal.orchestration.placement import place
from portal.orchestration.proof import proven
from portal.orchestration.republish import republish
from portal.orchestration.routes import routed_servers


def zone_of(account_id: int, record: str) -> Domain | None:
    """The account's domain whose zone holds this name (the longest one), if Hostdeck serves its DNS."""
    found = db.session.scalars(sa.select(Domain).where(Domain.account_id == account_id)).all()
    holders = [d for d in found if record.endswith("." + d.name) and proven(d)]
    return max(holders, key=lambda d: len(d.name)) if holders else None


def can_publish(account_id: int, names: list[str]) -> bool:
    """Can the wildcards among these names be proved here (a DNS server, and the zone of each)?"""
    wild = [f"_acme-challenge.{n.removeprefix('*.')}" for n in names if n.startswith("*.")]
    if not wild:
        return True
    return bool(place(routed_servers("bind"), account_id)) and all(zone_of(account_id, r) for r in wild)


def publish(cert: Certificate, items: list[Challenge]) -> list[Domain]:
    """Put the answers in the zones and apply them now; the domains whose zones changed."""
    servers = place(routed_servers("bind"), cert.account_id)
    if not servers:
        raise CaError("a wildcard name needs its domain's DNS at Hostdeck: no DNS server is routed", kind="no_dns")
    answers: dict[str, list[str]] = {}
    domains: dict[int, Domain] = {}
    for item in items:
        domain = zone_of(cert.account_id, item.record)
        if domain is None:
            raise CaError(f"{item.record}: no zone of this account at Hostdeck holds it", kind="no_dns")
        answers.setdefault(item.record, []).append(item.value)
        domains[domain.id] = domain
    cert.dns_challenges = answers
    republish(list(domains.values()))
    db.session.commit()
    _apply_now([s.id for s in servers], list(domains))
    return list(domains.values())


def withdraw(cert: Certificate, domains: list[Domain]) -> None:
    """The answers leave the zones (after the CA looked, whatever it found)."""
    cert.dns_challenges = {}
    republish(domains)
    db.session.commit()


def _apply_now(server_ids: list[int], domain_ids: list[int]) -> None:
    """Apply the zones here rather than wait for a worker: this job may be the only worker."""
    for server_id in server_ids:
        apply_server(server_id)
    db.session.expire_all()
    newest = db.session.execute(
        sa.select(Operation.server_id, Operation.object_id, Operation.state)
        .where(Operation.backend == "bind", Operation.object_type == "Domain", Operation.object_id.in_(domain_ids))
        .where(Operation.server_id.in_(server_ids), Operation.state != OpState.SUPERSEDED)
        .order_by(Operation.id)
    ).all()
    states = {(server_id, object_id): state for server_id, object_id, state in newest}  # the newest wins
    if any(state != OpState.APPLIED for state in states.values()):
        raise ScriptFailed("the DNS server did not publish the dns-01 answers")
