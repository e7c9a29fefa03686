"""Customers add and remove their own domain names."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Status, Website, website_domain
from portal.models.validators import domain_to_ascii
from portal.security.scoping import Actor, get_scoped_or_404
from portal.services import ServiceError, record, to_delete
from portal.services.limits import reserve


def _parents(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def add_domain(actor: Actor, name: str) -> Domain:
    try:
        ascii_name = domain_to_ascii(name)
    except ValueError as exc:
        raise ServiceError(str(exc), field="name") from exc
    account = actor.account
    if account is None:
        raise ServiceError("Domains belong to a customer account.")
    taken = db.session.scalar(sa.select(Domain).where(Domain.name == ascii_name))
    if taken is not None:
        mine = taken.account_id == account.id
        raise ServiceError(
            f"You already have {taken.display_name}." if mine else f"{taken.display_name} is already taken.",
            field="name",
        )
    # A name above or below another account's domain would let one account take the other's mail.
    clash = db.session.scalars(
        sa.select(Domain)
        .where(
            Domain.account_id != account.id,
            sa.or_(Domain.name.in_(_parents(ascii_name)), Domain.name.like(f"%.{ascii_name}")),
        )
        .limit(1)
    ).first()
    if clash is not None:
        raise ServiceError(f"{name.strip()} overlaps {clash.display_name}, which another account uses.", field="name")
    reserve(account.id, "domains")
    domain = Domain(account_id=account.id, name=ascii_name, status=Status.PENDING)
    db.session.add(domain)
    db.session.flush()
    record(domain, "save", actor)
    return domain


def domain_usage(domain: Domain) -> dict[str, list[str]]:
    """What still uses a domain, by kind, for the customer to see."""
    mailboxes = db.session.scalars(
        sa.select(Mailbox).where(Mailbox.domain_id == domain.id).order_by(Mailbox.local_part)
    ).all()
    addresses = db.session.scalars(
        sa.select(Address).where(Address.domain_id == domain.id).order_by(Address.local_part)
    ).all()
    websites = db.session.scalars(
        sa.select(Website).join(website_domain).where(website_domain.c.domain_id == domain.id).order_by(Website.name)
    ).all()
    usage = {
        "mailboxes": [m.address for m in mailboxes],
        "addresses": [a.display for a in addresses],
        "websites": [w.name for w in websites],
    }
    return {kind: names for kind, names in usage.items() if names}


def delete_domain(actor: Actor, domain_id: int) -> Domain:
    domain = get_scoped_or_404(Domain, domain_id, actor)
    usage = domain_usage(domain)
    if usage:
        listed = "; ".join(
            f"{len(names)} {kind} ({', '.join(names[:5])}{', …' if len(names) > 5 else ''})"
            for kind, names in usage.items()
        )
        raise ServiceError(f"{domain.display_name} is still used by {listed}. Delete those first.")
    return to_delete(domain, actor)
