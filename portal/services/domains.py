"""Customers add and remove their own domain names, and prove they control them (orchestration/proof.py):
until then a domain reaches no server, and nothing may use it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app
from limits import RateLimitItemPerHour, RateLimitItemPerSecond
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    Account,
    AccountKind,
    Address,
    DnsRecord,
    Domain,
    Mailbox,
    Status,
    Website,
    utcnow,
    website_domain,
)
from portal.models.validators import domain_to_ascii
from portal.orchestration import proving
from portal.orchestration.proof import (
    ProofCode,
    lost_reason,
    note,
    overlap_words,
    parents,
    proof_words,
    proven,
    reserved,
    reserved_counts,
    waiting_reason,
)
from portal.orchestration.unrouted import delete_now
from portal.security import throttle
from portal.security.audit import audit
from portal.security.scoping import Actor, console, get_scoped_or_404
from portal.services import ServiceError, record, to_delete
from portal.services.limits import reserve
from portal.words import gettext, ngettext

REASON_MAX = 200


def add_domain(actor: Actor, name: str) -> Domain:
    """A new name for the account: verified at once under a verified parent (or as a reserved name where
    those count), else a claim that waits for its proof. Other accounts' waiting claims block nothing."""
    try:
        ascii_name = domain_to_ascii(name)
    except ValueError as exc:
        raise ServiceError(str(exc), field="name") from exc
    account = actor.account
    if account is None:
        raise ServiceError(gettext("Domains belong to a customer account."))
    _refuse_taken(account.id, ascii_name, name)
    reserve(account.id, "domains")
    now = utcnow()
    domain = Domain(account_id=account.id, name=ascii_name, status=Status.PENDING)
    parent = _proven_parent(account.id, ascii_name)
    if reserved_counts() and reserved(ascii_name):
        # Verified like any other (the unique index holds it), so it is nobody else's.
        domain.verified_at = now
        note(domain, ProofCode.RESERVED, tld=ascii_name.rsplit(".", 1)[-1])
    elif parent is not None:
        domain.verified_at = now
        note(domain, ProofCode.WITH_PARENT, name=parent.name)
    else:
        # It waits for its record; the worker looks for it soon, then on a backoff.
        domain.proof_next_check_at = now
        note(domain, ProofCode.WAITING)
    try:
        with db.session.begin_nested():  # the same name added at the same moment: the database keeps one
            db.session.add(domain)
    except IntegrityError:
        _refuse_taken(account.id, ascii_name, name)
        raise
    if domain.verified_at is None:
        audit(actor, "domain.save", obj=domain, fields={"waiting_for_proof": True})
        return domain
    if parent is not None:
        audit(actor, "domain.verify", obj=domain, fields={"how": f"with {parent.name}"})
    proving.close_rival_claims(domain)
    record(domain, "save", actor)
    return domain


def _refuse_taken(account_id: int, ascii_name: str, typed: str) -> None:
    """The account has the name already, or another account has proved it (or one above or below it).
    The words never say which account."""
    own = db.session.scalar(sa.select(Domain).where(Domain.account_id == account_id, Domain.name == ascii_name))
    if own is not None:
        raise ServiceError(gettext("You already have %(name)s.", name=own.display_name), field="name")
    holder = proving.held_elsewhere(ascii_name, account_id)
    if holder is None:
        return
    if holder.name == ascii_name:
        raise ServiceError(gettext("%(name)s is already taken.", name=holder.display_name), field="name")
    # A name above or below another account's domain would let one account take the other's mail.
    raise ServiceError(overlap_words(typed.strip(), ascii_name, holder), field="name")


def _proven_parent(account_id: int, name: str) -> Domain | None:
    """A domain above this one that its own account has proved: a subdomain is proven with it."""
    above = db.session.scalars(
        sa.select(Domain)
        .where(Domain.account_id == account_id, Domain.name.in_(parents(name)))
        .order_by(sa.func.length(Domain.name))
    ).all()
    return next((d for d in above if d.verified_at is not None and d.status != Status.DELETING), None)


def refuse_unproven(domain: Domain, field: str = "domain_id") -> None:
    """Mailboxes, addresses and websites wait for their domain's proof: refused with the reason."""
    if not proven(domain):
        raise ServiceError(waiting_reason(domain), field=field)


class TooSoon(ServiceError):
    """Past a limit on "Check now": the page answers 429, with when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_domain(actor: Actor, domain_id: int) -> bool:
    """ "Check now": True if the check was handed to a worker; else it ran here, and the domain says how it went."""
    domain = get_scoped_or_404(Domain, domain_id, actor)
    if domain.status == Status.DELETING:
        raise ServiceError(gettext("%(name)s is being deleted.", name=domain.display_name))
    if proven(domain):
        raise ServiceError(gettext("%(name)s is verified already.", name=domain.display_name))
    holder = proving.held_elsewhere(domain.name, domain.account_id)
    if holder is not None:
        raise ServiceError(lost_reason(domain, holder))
    _spend_a_check(actor, domain)
    if proving.enqueue_check(domain):
        return True
    proving.check(domain, actor)
    return False


def _spend_a_check(actor: Actor, domain: Domain) -> None:
    """Each check asks DNS servers that are not ours: one per domain every PROOF_CHECK_INTERVAL seconds, and
    PROOF_CHECKS_PER_HOUR per login and per IP (in the login throttle's storage: Redis when there is one)."""
    config = current_app.config
    per_hour = RateLimitItemPerHour(int(config["PROOF_CHECKS_PER_HOUR"]))
    user = actor.real_user or actor.user  # whoever clicks, staff behind a customer included
    rules: list[throttle.Rule] = [
        (per_hour, ("proof-user", str(user.id))),
        (per_hour, ("proof-ip", throttle.client_ip())),
    ]
    interval = int(config["PROOF_CHECK_INTERVAL"])  # 0: none
    if interval > 0:
        rules.insert(0, (RateLimitItemPerSecond(1, interval), ("proof-domain", str(domain.id))))
    spent = throttle.spend(rules)
    if spent is None:
        return
    key, wait = spent
    if key[0] == "proof-domain":
        raise TooSoon(
            ngettext(
                "%(name)s was checked a moment ago. Try again in %(num)d second.",
                "%(name)s was checked a moment ago. Try again in %(num)d seconds.",
                wait,
                name=domain.display_name,
            ),
            wait,
        )
    minutes = wait // 60 + 1
    raise TooSoon(
        ngettext(
            "Too many checks. Hostdeck looks again by itself; try again in %(num)d minute.",
            "Too many checks. Hostdeck looks again by itself; try again in %(num)d minutes.",
            minutes,
        ),
        wait,
    )


def verify_as_staff(actor: Actor, domain_id: int, reason: str) -> Domain:
    """Staff mark a domain verified by hand (a registrar's letter, say), from the staff console."""
    domain = db.first_or_404(console(Domain, actor).where(Domain.id == domain_id))
    return _by_hand(domain, actor, reason, ProofCode.BY_STAFF)


def verify_for_sub_account(actor: Actor, domain_id: int, reason: str) -> Domain:
    """A reseller marks a domain of one of its own sub-accounts verified by hand; never its own."""
    domain = get_scoped_or_404(Domain, domain_id, actor)
    if not may_verify_by_hand(actor, domain):
        abort(404)
    return _by_hand(domain, actor, reason, ProofCode.BY_RESELLER)


def may_verify_by_hand(actor: Actor, domain: Domain) -> bool:
    reseller = actor.user.account
    return (
        bool(current_app.config["RESELLERS_VERIFY_DOMAINS"])
        and reseller is not None
        and reseller.kind == AccountKind.RESELLER
        and db.session.scalar(sa.select(Account.parent_id).where(Account.id == domain.account_id)) == reseller.id
    )


def _by_hand(domain: Domain, actor: Actor, reason: str, how: ProofCode) -> Domain:
    reason = " ".join(reason.split())
    if not reason:
        raise ServiceError(gettext("Give a reason (a ticket ID, say): it goes into the audit trail."), field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(gettext("Keep the reason under %(num)d characters.", num=REASON_MAX), field="reason")
    if domain.status == Status.DELETING:
        raise ServiceError(gettext("%(name)s is being deleted.", name=domain.display_name))
    if proven(domain):
        raise ServiceError(gettext("%(name)s is verified already.", name=domain.display_name))
    if not proving.mark_verified(domain, actor, how, {"reason": reason, "how": "by hand"}):
        raise ServiceError(proof_words(domain))  # another account has proved it, or one above or below it
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


def _used_by(kind: str, names: list[str]) -> str:
    """ "2 mailboxes (a@x, b@x)": a count and the first few names, one phrase per kind for the plurals."""
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    n = len(names)
    if kind == "mailboxes":
        return str(ngettext("%(num)d mailbox (%(names)s)", "%(num)d mailboxes (%(names)s)", n, names=shown))
    if kind == "addresses":
        return str(ngettext("%(num)d address (%(names)s)", "%(num)d addresses (%(names)s)", n, names=shown))
    return str(ngettext("%(num)d website (%(names)s)", "%(num)d websites (%(names)s)", n, names=shown))


def delete_domain(actor: Actor, domain_id: int) -> Domain:
    domain = get_scoped_or_404(Domain, domain_id, actor)
    usage = domain_usage(domain)
    if usage:
        listed = "; ".join(_used_by(kind, names) for kind, names in usage.items())
        raise ServiceError(
            gettext(
                "%(name)s is still used by %(listed)s. Delete those first.", name=domain.display_name, listed=listed
            )
        )
    # Its own records go with its zone: the DNS servers drop the zone whole.
    db.session.execute(sa.delete(DnsRecord).where(DnsRecord.domain_id == domain.id))
    if not proven(domain):  # no server ever heard of it
        audit(actor, "domain.delete", obj=domain)
        delete_now(domain)
        return domain
    return to_delete(domain, actor)
