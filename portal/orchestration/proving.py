"""Proving a domain: look its record up with dnspython (the resolvers in DNS_RESOLVERS), and once the token
is there mark the domain verified, with its waiting subdomains, and tell its servers. A domain still
waiting is looked at again on a backoff (PROOF_RECHECK_DELAYS), by the worker's sweeper."""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from portal.orchestration.proof import proven, record_name, token
from portal.orchestration.queue import queue
from portal.security.audit import audit
from portal.security.scoping import Actor

log = logging.getLogger(__name__)
DUE_PER_SWEEP = 100


@dataclass(frozen=True)
class Finding:
    found: bool
    words: str  # for the customer
    detail: str  # the resolver's answer, for staff


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
        return Finding(False, f"No TXT record {name} was found.", f"{name}: NXDOMAIN")
    except dns.resolver.NoAnswer:
        return Finding(False, f"No TXT record {name} was found.", f"{name}: NOERROR, no TXT records")
    except dns.exception.DNSException as exc:  # timeouts, no server answering, a broken answer
        return Finding(False, "The DNS servers did not answer; Hostdeck will look again later.", f"{name}: {exc}")
    values = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    detail = answer.rrset.to_text() if answer.rrset is not None else ""
    if wanted in values:
        return Finding(True, f"Verified: {name} holds the token.", detail)
    shown = ", ".join(repr(v[:80]) for v in values[:3])
    return Finding(False, f"The TXT record {name} holds {shown}, not the value shown here.", detail)


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
    finding = lookup(domain)
    now = utcnow()
    domain.proof_checked_at, domain.proof_detail = now, finding.detail[:2000]
    if finding.found:
        mark_verified(domain, actor, finding.words, {"how": "TXT record"})
        return True
    domain.proof_attempts += 1
    domain.proof_result = finding.words
    domain.proof_next_check_at = now + next_delay(domain.proof_attempts)
    return False


def mark_verified(domain: Domain, actor: Actor | None, result: str, fields: dict[str, Any]) -> list[Domain]:
    """The domain is proven, and so are its account's waiting subdomains: record their saves."""
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
    _verified(domain, actor, result, fields)
    for sub in waiting:
        _verified(sub, actor, f"Verified with {domain.display_name}.", {"how": f"with {domain.name}"})
        done.append(sub)
    return done


def _verified(domain: Domain, actor: Actor | None, result: str, fields: dict[str, Any]) -> None:
    domain.verified_at, domain.proof_next_check_at, domain.proof_result = utcnow(), None, result
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
