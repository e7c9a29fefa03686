"""Customers add and remove their own domain names, and prove they control them (orchestration/proof.py):
until then a domain reaches no server, and nothing may use it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from portal.extensions import db
from portal.models import Account, AccountKind, Address, Domain, Mailbox, Status, Website, utcnow, website_domain
from portal.models.validators import domain_to_ascii
from portal.orchestration import proving
from portal.orchestration.proof import proven, waiting_reason
from portal.orchestration.unrouted import delete_now
from portal.security.audit import audit
from portal.security.scoping import Actor, console, get_scoped_or_404
from portal.services import ServiceError, record, to_delete
from portal.services.limits import reserve

REASON_MAX = 200


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
    parent = _proven_parent(domain)
    if proven(domain):
        domain.proof_result = (
            f"Counts as verified: names under .{ascii_name.rsplit('.', 1)[-1]} are for trying Hostdeck out."
        )
    elif parent is not None:
        domain.verified_at, domain.proof_result = utcnow(), f"Verified with {parent.display_name}."
        audit(actor, "domain.verify", obj=domain, fields={"how": f"with {parent.name}"})
    else:
        # It waits for its record; the worker looks for it soon, then on a backoff.
        domain.proof_next_check_at = utcnow()
        domain.proof_result = "Waiting for the TXT record."
        audit(actor, "domain.save", obj=domain, fields={"waiting_for_proof": True})
        return domain
    record(domain, "save", actor)
    return domain


def _proven_parent(domain: Domain) -> Domain | None:
    """A domain above this one that its own account has proved: a subdomain is proven with it."""
    above = db.session.scalars(
        sa.select(Domain)
        .where(Domain.account_id == domain.account_id, Domain.name.in_(_parents(domain.name)))
        .order_by(sa.func.length(Domain.name))
    ).all()
    return next((d for d in above if d.verified_at is not None and d.status != Status.DELETING), None)


def refuse_unproven(domain: Domain, field: str = "domain_id") -> None:
    """Mailboxes, addresses and websites wait for their domain's proof: refused with the reason."""
    if not proven(domain):
        raise ServiceError(waiting_reason(domain), field=field)


def check_domain(actor: Actor, domain_id: int) -> bool:
    """ "Check now": True if the check was handed to a worker; else it ran here, and the domain says how it went."""
    domain = get_scoped_or_404(Domain, domain_id, actor)
    if domain.status == Status.DELETING:
        raise ServiceError(f"{domain.display_name} is being deleted.")
    if proven(domain):
        raise ServiceError(f"{domain.display_name} is verified already.")
    if proving.enqueue_check(domain):
        return True
    proving.check(domain, actor)
    return False


def verify_as_staff(actor: Actor, domain_id: int, reason: str) -> Domain:
    """Staff mark a domain verified by hand (a registrar's letter, say), from the staff console."""
    domain = db.first_or_404(console(Domain, actor).where(Domain.id == domain_id))
    return _by_hand(domain, actor, reason, "Marked as verified by support.")


def verify_for_sub_account(actor: Actor, domain_id: int, reason: str) -> Domain:
    """A reseller marks a domain of one of its own sub-accounts verified by hand; never its own."""
    domain = get_scoped_or_404(Domain, domain_id, actor)
    if not may_verify_by_hand(actor, domain):
        abort(404)
    return _by_hand(domain, actor, reason, "Marked as verified by your provider.")


def may_verify_by_hand(actor: Actor, domain: Domain) -> bool:
    reseller = actor.user.account
    return (
        reseller is not None
        and reseller.kind == AccountKind.RESELLER
        and db.session.scalar(sa.select(Account.parent_id).where(Account.id == domain.account_id)) == reseller.id
    )


def _by_hand(domain: Domain, actor: Actor, reason: str, result: str) -> Domain:
    reason = " ".join(reason.split())
    if not reason:
        raise ServiceError("Give a reason (a ticket id, say): it goes into the audit trail.", field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    if domain.status == Status.DELETING:
        raise ServiceError(f"{domain.display_name} is being deleted.")
    if proven(domain):
        raise ServiceError(f"{domain.display_name} is verified already.")
    proving.mark_verified(domain, actor, result, {"reason": reason, "how": "by hand"})
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
    if not proven(domain):  # no server ever heard of it
        audit(actor, "domain.delete", obj=domain)
        delete_now(domain)
        return domain
    return to_delete(domain, actor)
