"""Proving a domain: look its record up with dnspython (the resolvers in DNS_RESOLVERS), and once the token
is there mark the domain verified, with its waiting subdomains, and tell its servers. A domain still
waiting is looked at again on a backoff (PROOF_RECHECK_DELAYS), by the worker's sweeper.

Several accounts may claim one name while it waits; the first to prove it has it. The others' claims on
it, and on the names above and below it, are over then: they say so, are no longer looked at, and can
only be deleted (held_elsewhere() is asked again at every check, so a claim lives again if the name is
given up)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from portal.extensions import db
from portal.models import Domain, Status, utcnow
from portal.orchestration import operations
from portal.orchestration.proof import (
    ProofCode,
    lost,
    note,
    parents,
    proven,
    record_name,
    reserved,
    reserved_counts,
    token,
)
from portal.orchestration.queue import queue
from portal.security.audit import audit
from portal.security.scoping import Actor

log = logging.getLogger(__name__)
DUE_PER_SWEEP = 100


@dataclass(frozen=True)
class Finding:
    found: bool
    code: ProofCode  # for the customer, worded when read (proof.describe)
    detail: str  # the resolver's answer, for staff
    args: dict[str, Any] = field(default_factory=dict)


def resolver() -> dns.resolver.Resolver:
    """The system's resolvers, or those DNS_RESOLVERS names ("host", "host:port", "[v6]:port")."""
    spec = str(current_app.config["DNS_RESOLVERS"]).strip()
    if not spec:
        return dns.resolver.Resolver()
    found = dns.resolver.Resolver(configure=False)
    servers: list[str | dns.nameserver.Nameserver] = []
    for item in (part.strip() for part in spec.split(",")):
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif item.count(":") == 1:
            host, _, number = item.partition(":")
            port = int(number)
        servers.append(dns.nameserver.Do53Nameserver(host, port))
    found.nameservers = servers
    return found


def lookup(domain: Domain) -> Finding:
    """Does `_hostdeck-challenge.<domain>` hold the token made for the domain's account?"""
    name, wanted = record_name(domain.name), token(domain.account_id, domain.name)
    try:
        answer = resolver().resolve(
            name, dns.rdatatype.TXT, lifetime=float(current_app.config["DNS_TIMEOUT"]), search=False
        )
    except dns.resolver.NXDOMAIN:
        return Finding(False, ProofCode.NXDOMAIN, f"{name}: NXDOMAIN")
    except dns.resolver.NoAnswer:
        return Finding(False, ProofCode.NO_TXT, f"{name}: NOERROR, no TXT records")
    except dns.exception.Timeout as exc:
        return Finding(False, ProofCode.TIMEOUT, f"{name}: {exc}")
    except dns.exception.DNSException as exc:  # no server answering, a broken answer
        return Finding(False, ProofCode.DNS_ERROR, f"{name}: {exc}")
    values = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    detail = answer.rrset.to_text() if answer.rrset is not None else ""
    if wanted in values:
        return Finding(True, ProofCode.RECORD_FOUND, detail)
    # The first few, cut short: the customer's page shows them.
    return Finding(False, ProofCode.WRONG_VALUE, detail, {"values": [v[:80] for v in values[:3]]})


def _delays() -> list[int]:
    return [int(s) for s in str(current_app.config["PROOF_RECHECK_DELAYS"]).split(",") if s.strip()] or [3600]


def next_delay(attempts: int) -> timedelta:
    """How long after the attempts-th failed check the next one comes."""
    delays = _delays()
    return timedelta(seconds=delays[min(max(attempts, 1), len(delays)) - 1])


def check(domain: Domain, actor: Actor | None = None) -> bool:
    """Look for the record now. True: the domain is verified (and its servers are being told)."""
    if proven(domain):
        return True
    now = utcnow()
    holder = held_elsewhere(domain.name, domain.account_id)
    if holder is not None:  # no record can win it back: nothing to look up
        domain.proof_checked_at = now
        close_claim(domain, holder)
        return False
    finding = lookup(domain)
    domain.proof_checked_at, domain.proof_detail = now, finding.detail[:2000]
    if finding.found:
        return bool(mark_verified(domain, actor, finding.code, {"how": "TXT record"}))
    domain.proof_attempts += 1
    note(domain, finding.code, **finding.args)
    domain.proof_next_check_at = now + next_delay(domain.proof_attempts)
    return False


def overlapping(name: str) -> sa.ColumnElement[bool]:
    """Rows of this name, and of the names above and below it."""
    return sa.or_(
        Domain.name == name, Domain.name.in_(parents(name)), Domain.name.endswith(f".{name}", autoescape=True)
    )


def held_elsewhere(name: str, account_id: int) -> Domain | None:
    """Another account's proven domain of this name (first), or above or below it: this account may not
    have the name then."""
    # Every name that overlaps this one has its top-level domain: where reserved names count as proven,
    # all of them count, verified_at or not.
    counted = sa.true() if reserved_counts() and reserved(name) else Domain.verified_at.is_not(None)
    return db.session.scalars(
        sa.select(Domain)
        .where(Domain.account_id != account_id, overlapping(name), counted)
        .order_by(sa.case((Domain.name == name, 0), else_=1), Domain.name)
        .limit(1)
    ).first()


def close_claim(domain: Domain, holder: Domain) -> None:
    """Another account has proved the name (or one above or below it): this claim waits for nothing."""
    domain.proof_next_check_at = None
    code, args = lost(domain, holder)
    note(domain, code, **args)


def close_rival_claims(domain: Domain) -> None:
    """The domain is proven: other accounts' waiting claims on it, or above or below it, are over."""
    rivals = db.session.scalars(
        sa.select(Domain).where(
            Domain.account_id != domain.account_id, overlapping(domain.name), Domain.verified_at.is_(None)
        )
    ).all()
    for rival in rivals:
        if not proven(rival):
            close_claim(rival, domain)


def mark_verified(domain: Domain, actor: Actor | None, how: ProofCode, fields: dict[str, Any]) -> list[Domain]:
    """The domain is proven, and so are its account's waiting subdomains: record their saves. Empty (and
    the claim closed) when another account has proved the name, or one above or below it."""
    # Every row of this name and above and below it, of every account, locked in id order: two accounts
    # proving overlapping names at once take turns, and the second sees the first's proof.
    db.session.scalars(
        sa.select(Domain)
        .where(overlapping(domain.name))
        .order_by(Domain.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    holder = held_elsewhere(domain.name, domain.account_id)
    if holder is not None:
        close_claim(domain, holder)
        return []
    waiting = db.session.scalars(
        sa.select(Domain)
        .where(
            Domain.account_id == domain.account_id,
            Domain.verified_at.is_(None),
            Domain.name.endswith(f".{domain.name}", autoescape=True),
            Domain.status != Status.DELETING,
        )
        .order_by(Domain.name)
    ).all()
    done = [domain]
    _verified(domain, actor, fields, how)
    for sub in waiting:
        _verified(sub, actor, {"how": f"with {domain.name}"}, ProofCode.WITH_PARENT, name=domain.name)
        done.append(sub)
    close_rival_claims(domain)
    return done


def _verified(domain: Domain, actor: Actor | None, fields: dict[str, Any], how: ProofCode, **args: Any) -> None:
    domain.verified_at, domain.proof_next_check_at = utcnow(), None
    note(domain, how, **args)
    domain.status, domain.last_error = Status.PENDING, None
    audit(actor, "domain.verify", obj=domain, fields=fields)
    try:
        operations.record(domain, "save", actor=actor)
    except operations.NoServer:  # no mail server yet: a resync tells it once there is one
        domain.status = Status.APPLIED


def check_job(domain_id: int) -> bool:
    """The RQ job behind "Check now" and the re-checks: one domain's record, looked up by a worker."""
    domain = db.session.get(Domain, domain_id)
    if domain is None or domain.status == Status.DELETING:
        return False
    found = check(domain)
    db.session.commit()
    return found


def enqueue_check(domain: Domain) -> bool:
    """Hand the check to a worker. False without Redis (or with Redis down): the caller checks itself."""
    q = queue()
    if q is None:
        return False
    try:
        q.enqueue(check_job, domain.id, job_timeout=60, result_ttl=600, failure_ttl=86400)
    except RedisError as exc:
        log.warning("domain %s: cannot enqueue its check (%s)", domain.id, exc)
        return False
    return True


def sweep_due() -> int:
    """Look again at the waiting domains whose time has come: each goes to a worker (or is checked here
    without Redis), and its next time moves on so that the next sweep leaves it alone."""
    now = utcnow()
    due = db.session.scalars(
        sa.select(Domain)
        .where(Domain.verified_at.is_(None), Domain.proof_next_check_at <= now, Domain.status != Status.DELETING)
        .order_by(Domain.proof_next_check_at)
        .limit(DUE_PER_SWEEP)
        .with_for_update(skip_locked=True)
    ).all()
    for domain in due:
        domain.proof_next_check_at = now + next_delay(domain.proof_attempts + 1)
    db.session.commit()
    for domain in due:
        if not enqueue_check(domain):
            check(domain)
            db.session.commit()
    return len(due)
