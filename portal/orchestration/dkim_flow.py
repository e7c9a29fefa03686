"""What follows a DKIM key's steps, through the outbox: publish a public key the mail server printed,
re-apply the mail servers' tables when the signing key changes, rotate, and drop retired keys.

A stored public key is published in the domain's zone (republish.py) where a bind server is routed for
the account; once a bind script built after the key was stored has applied the zone (its operation
turns APPLIED), the key signs. With no bind
route the customer runs the DNS: the key signs at once, and the domain page shows the record to publish.
The backends only note what happened (dkim.note); the notes are acted on here, before the commit of the
transaction that made them (init_app hooks the session).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, UOWTransaction

from portal.extensions import db
from portal.models import BackendLog, Domain, Operation, OpState, Server, Status, utcnow
from portal.models.dns import DkimKey, DkimState
from portal.orchestration import dkim
from portal.orchestration.operations import requeue
from portal.orchestration.placement import place
from portal.orchestration.republish import republish
from portal.orchestration.routes import routed_servers
from portal.security.scoping import Actor

log = logging.getLogger(__name__)
# The zone's TXT strings are at most this long (RFC 7208's and BIND's limit per string).
TXT_STRING = 255


def dkim_servers(domain: Domain) -> list[Server]:
    return place(routed_servers("opendkim"), domain.account_id)


def dns_hosted(domain: Domain) -> bool:
    """Does a bind server of ours serve the domain's zone? Else the customer publishes the records."""
    return bool(place(routed_servers("bind"), domain.account_id))


def sign_again(domains: list[Domain], actor: Actor | None = None) -> None:
    """Re-apply these domains on their mail servers: the tables follow their signing keys."""
    for domain in domains:
        if domain.status == Status.DELETING:
            continue
        for server in dkim_servers(domain):
            requeue(server, "opendkim", "Domain", domain.id, actor=actor)


def _follow_up(session: Session) -> None:
    info = session.info
    stored, sign, zoned = info.pop(dkim.STORED, set()), info.pop(dkim.SIGN, set()), info.pop(dkim.ZONED, set())
    if not stored and not sign and not zoned:
        return
    for domain_id, log_id in sorted(zoned):
        domain, entry = session.get(Domain, domain_id), session.get(BackendLog, log_id)
        if domain is not None and entry is not None and entry.started_at is not None:
            dkim.promote(domain, zone_built=entry.started_at)
    hosted = []
    for domain_id in sorted(stored):
        domain = session.get(Domain, domain_id)
        if domain is None or domain.status == Status.DELETING:
            continue
        if dns_hosted(domain):
            hosted.append(domain)
        else:
            dkim.promote(domain)  # nothing of ours to wait for: the customer publishes it
    if hosted:
        republish(hosted)
    sign |= info.pop(dkim.SIGN, set())
    found = [session.get(Domain, domain_id) for domain_id in sorted(sign)]
    sign_again([d for d in found if d is not None])


def _after_flush(session: Session, context: UOWTransaction) -> None:
    """A zone a DNS server applied (the flush's lists are still as they were before it)."""
    zoned = {
        (op.object_id, op.backend_log_id)
        for op in session.dirty
        if isinstance(op, Operation)
        and op.backend == "bind"
        and op.object_type == "Domain"
        and op.action == "save"
        and op.state == OpState.APPLIED
        and op.backend_log_id is not None
    }
    if zoned:
        session.info.setdefault(dkim.ZONED, set()).update(zoned)


def _before_commit(session: Session) -> None:
    """Never in the way of the commit (a job's outcome): what fails here is logged, and a resync redoes it."""
    if not any(kind in session.info for kind in (dkim.STORED, dkim.SIGN, dkim.ZONED)):
        return
    try:
        with session.begin_nested():
            _follow_up(session)
    except Exception:
        log.exception("DKIM: could not publish or re-apply the keys of a change")


def _after_rollback(session: Session) -> None:
    session.info.pop(dkim.STORED, None)
    session.info.pop(dkim.SIGN, None)
    session.info.pop(dkim.ZONED, None)


def init_app(app: Flask) -> None:
    factory = db.session.session_factory
    if not sa.event.contains(factory, "before_commit", _before_commit):
        sa.event.listen(factory, "before_commit", _before_commit)
        sa.event.listen(factory, "after_rollback", _after_rollback)
        sa.event.listen(factory, "after_flush", _after_flush)


class RotationRefused(Exception):
    """Why a key cannot be rotated now; the message is for the customer (services word it)."""


def rotate(domain: Domain, actor: Actor | None = None) -> DkimKey:
    """A new selector: made on the mail server, published, then signing; the old key retires after."""
    keys = dkim.keys_of(domain)
    if any(k.state == DkimState.NEW for k in keys):
        raise RotationRefused("in progress")
    if dkim.signing_key(keys) is None:
        raise RotationRefused("not signing")
    key = dkim.ask_for_key(domain)
    sign_again([domain], actor)
    return key


def sweep_retired(now: datetime | None = None) -> int:
    """Retired keys past retire_at leave the zone and the mail servers. Returns how many."""
    now = now or utcnow()
    gone = db.session.scalars(
        sa.select(DkimKey).where(DkimKey.state == DkimState.RETIRING, DkimKey.retire_at <= now)
    ).all()
    domains = {key.domain_id: key.domain for key in gone}
    for key in gone:
        db.session.delete(key)
    db.session.flush()
    hosted = [d for d in domains.values() if dns_hosted(d)]
    if hosted:
        republish(hosted)
    sign_again(list(domains.values()))
    db.session.commit()
    return len(gone)


@dataclass(frozen=True)
class Record:
    name: str  # absolute, without the trailing dot
    value: str
    rtype: str = "TXT"

    @property
    def strings(self) -> list[str]:
        """As the zone holds it: strings of at most 255 bytes (the value is ASCII)."""
        return [self.value[i : i + TXT_STRING] for i in range(0, len(self.value), TXT_STRING)]


def record_of(domain: Domain, key: DkimKey) -> Record:
    return Record(f"{key.selector}._domainkey.{domain.name}", f"v=DKIM1; k=rsa; p={key.public_key}")


@dataclass(frozen=True)
class DkimView:
    """A domain's DKIM state, for its page."""

    served: bool  # a mail server signs for it
    hosted: bool  # our DNS publishes the records
    signing: DkimKey | None
    coming: DkimKey | None  # asked for, not signing yet
    retiring: list[DkimKey]
    records: list[Record]  # what the customer publishes when we do not host the DNS

    @property
    def may_rotate(self) -> bool:
        return self.signing is not None and self.coming is None


def view(domain: Domain) -> DkimView:
    keys = dkim.keys_of(domain)
    hosted = dns_hosted(domain)
    shown = [k for k in keys if k.public_key and k.state in dkim.PUBLISHED]
    return DkimView(
        served=bool(dkim_servers(domain)),
        hosted=hosted,
        signing=dkim.signing_key(keys),
        coming=next((k for k in reversed(keys) if k.state == DkimState.NEW), None),
        retiring=[k for k in keys if k.state == DkimState.RETIRING],
        records=[] if hosted else [record_of(domain, k) for k in shown],
    )
