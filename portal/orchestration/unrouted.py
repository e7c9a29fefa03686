"""Rows no server holds: deleted at once, since no apply will ever settle them."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, DnsRecord, Domain, Mailbox, Operation, Status, usage
from portal.models.kinds import COUNTED, kind_of
from portal.models.status import Provisioned


def delete_now(obj: Provisioned) -> None:
    """Delete a row now. Counted ones go by usage.delete_rows(): two transactions deleting the
    same row (a purge run by two workers) take it off the usage counters once."""
    db.session.flush()
    if kind_of(obj) in COUNTED:
        usage.delete_rows(db.session, type(obj), [obj.id])
    else:
        db.session.delete(obj)


def purge_unrouted_domains() -> None:
    """Domains being deleted that no server holds go once their mailboxes and addresses have gone."""
    for domain in db.session.scalars(sa.select(Domain).where(Domain.status == Status.DELETING)):
        held = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Operation)
            .where(Operation.object_type == "Domain", Operation.object_id == domain.id)
        )
        used = any(
            db.session.scalar(sa.select(sa.func.count()).select_from(m).where(m.domain_id == domain.id))
            for m in (Mailbox, Address, DnsRecord)
        )
        if not held and not used:
            delete_now(domain)
