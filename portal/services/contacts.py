"""Emergency contacts: the address an account's warnings go to when its own mail may be down.

It is on no domain this portal hosts: not the account's (proved or waiting for proof), nor its
reseller's, nor (for a reseller) its sub-accounts', nor any domain proved here by anyone, since its
mail would sit on the servers that failed. A refusal names only the domain, never whose it is (adding
that domain would say "already taken" anyway). Another tenant's claim still waiting for proof is not
hosted: it is not refused.

Set in the account's settings, or by the reseller creating a sub-account; a change resets the
confirmation and mails a link to the new address. The link (itsdangerous under SECRET_KEY, valid
LINK_DAYS) names the account and an HMAC of the address: it confirms that address only while it is the
account's unconfirmed contact, so it is spent once confirmed, or once the address changes. Nothing of
it is stored: after the commit a worker makes and mails it (the job carries the account id), on
PUBLIC_URL. Opening it shows a page; its POST confirms.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItemPerHour
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Account, AccountKind, Domain, utcnow
from portal.models.naming import in_unicode
from portal.models.validators import domain_to_ascii, shown, unicode_name
from portal.orchestration.contacts import contact_locale, owners
from portal.orchestration.mailer import compose, deliver
from portal.orchestration.proof import parents
from portal.orchestration.queue import queue
from portal.security import throttle
from portal.security.audit import audit
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.words import gettext, ngettext

log = logging.getLogger(__name__)

FIELD = "emergency_email"
LINK_DAYS = 7
LINK_PATH = "/account/emergency-contact/confirm/"  # the account blueprint's confirm route, and what the mail links to
SALT = "hostdeck-emergency-contact"
LINKS_PER_HOUR = 3  # confirmation mails per account to one address: setting it again and again spams nobody
PENDING = "hostdeck.contact_links"  # account ids whose link goes out after this transaction commits
INT_MAX = 2**31 - 1


class Outcome(enum.StrEnum):
    CHANGED = "changed"
    RESENT = "resent"  # the same address, not yet confirmed: a new link
    CONFIRMED_ALREADY = "confirmed already"


def checked(email: str, account_ids: list[int]) -> str:
    """The address as stored (lowercase, its domain as A-labels), or a refusal at the field: not an
    address, or on a domain hosted here for these accounts or proved here by anyone."""
    try:
        valid = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:  # its words are English only: ours say the same
        raise ServiceError(gettext("Type a valid e-mail address, such as name@example.com."), field=FIELD) from exc
    local, _, domain = valid.normalized.lower().rpartition("@")
    try:
        domain = domain_to_ascii(domain)
    except ValueError as exc:
        raise ServiceError(str(exc), field=FIELD) from exc
    hosted = hosted_domain(domain, account_ids)
    if hosted is not None:
        raise ServiceError(
            gettext(
                "%(domain)s is hosted here: when its mail server is down, warnings would not reach you. "
                "Give an address on another domain, such as one of your mail provider's.",
                domain=unicode_name(hosted),
            ),
            field=FIELD,
        )
    return f"{local}@{domain}"


def hosted_domain(domain: str, account_ids: list[int]) -> str | None:
    """The domain (the address's own, or one it is under) that the accounts hold, or anyone proved here."""
    names = [domain, *parents(domain)]
    query = (
        sa.select(Domain.name)
        .where(Domain.name.in_(names), sa.or_(Domain.verified_at.is_not(None), Domain.account_id.in_(account_ids)))
        .order_by(sa.func.length(Domain.name).desc())
        .limit(1)
    )
    return db.session.scalar(query)


def family(account: Account) -> list[int]:
    """The account, its reseller (a sub-account's mail may sit on the reseller's servers), and a
    reseller's sub-accounts: every domain hosted for them is on servers the account depends on."""
    ids = [account.id]
    if account.parent_id is not None:
        ids.append(account.parent_id)
    if account.kind == AccountKind.RESELLER:
        ids += db.session.scalars(sa.select(Account.id).where(Account.parent_id == account.id))
    return ids


def hosted_now(account: Account) -> str | None:
    """The stored contact's domain when it is hosted here now (a domain added since it was set)."""
    if not account.emergency_email:
        return None
    found = hosted_domain(account.emergency_email.rpartition("@")[2], family(account))
    return unicode_name(found) if found else None


def set_contact(actor: Actor, email: str) -> Outcome:
    """The acting account's emergency contact (a reseller acting inside a sub-account: that one's)."""
    account = actor.scope
    if account is None:
        raise ServiceError(gettext("Only accounts have an emergency contact."))
    address = checked(email, family(account))
    if address == account.emergency_email:
        if account.emergency_confirmed_at is not None:
            return Outcome.CONFIRMED_ALREADY
        ask_confirmation(account)
        return Outcome.RESENT
    old = account.emergency_email
    account.emergency_email, account.emergency_confirmed_at = address, None
    audit(actor, "account.emergency_contact", obj=account, account_id=account.id, fields={"from": old, "to": address})
    ask_confirmation(account)
    return Outcome.CHANGED


def resend(actor: Actor) -> Account:
    """A new link to the acting account's contact, while it waits for confirmation."""
    account = actor.scope
    if account is None or not account.emergency_email or account.emergency_confirmed_at is not None:
        raise ServiceError(gettext("There is no address waiting for confirmation."))
    ask_confirmation(account)
    return account


def set_new_account_contact(account: Account, address: str) -> None:
    """A sub-account's first contact (resellers.create_sub_account has checked it, and audits the create)."""
    account.emergency_email, account.emergency_confirmed_at = address, None
    ask_confirmation(account)


def ask_confirmation(account: Account) -> None:
    """Mail the contact a link once this transaction commits: within LINKS_PER_HOUR per account and address."""
    address = account.emergency_email
    if address is None:
        return
    # Per account and address: a reseller may give every new sub-account its own support address.
    key = ("contact-link", f"{account.id}:{address}")
    spent = throttle.spend([(RateLimitItemPerHour(LINKS_PER_HOUR), key)])
    if spent is not None:
        minutes = spent[1] // 60 + 1
        raise ServiceError(
            ngettext(
                "Several links went to %(email)s within the hour. Try again in %(num)d minute.",
                "Several links went to %(email)s within the hour. Try again in %(num)d minutes.",
                minutes,
                email=in_unicode(address),
            ),
            field=FIELD,
        )
    db.session.info.setdefault(PENDING, set()).add(account.id)


# The link ----------------------------------------------------------------------------------------


def _mark(address: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"emergency-contact:{address}".encode(), hashlib.sha256).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(account: Account) -> str:
    token: str = _serializer().dumps({"a": account.id, "m": _mark(account.emergency_email or "")})
    return token


def account_for_token(token: str, *, lock: bool = False) -> Account | None:
    """The account whose unconfirmed contact the link names; None when it expired, the address was
    confirmed or changed since, or the link is not one of ours. lock: of two confirmations at once,
    the second waits and finds it confirmed."""
    try:
        data = _serializer().loads(token, max_age=LINK_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    account_id, mark = data.get("a"), data.get("m")
    if not isinstance(account_id, int) or not 0 < account_id <= INT_MAX or not isinstance(mark, str):
        return None
    account = db.session.get(Account, account_id, with_for_update=lock, populate_existing=lock)
    if account is None or account.deleting_at is not None or not account.emergency_email:
        return None
    if account.emergency_confirmed_at is not None:
        return None
    if not hmac.compare_digest(_mark(account.emergency_email), mark):
        return None
    return account


def confirm(token: str) -> Account | None:
    """Confirm the address the link names; None when the link no longer works."""
    account = account_for_token(token, lock=True)
    if account is None:
        return None
    account.emergency_confirmed_at = utcnow()
    audit(
        None, "account.emergency_confirmed", obj=account, account_id=account.id, fields={"to": account.emergency_email}
    )
    return account


# The mail ----------------------------------------------------------------------------------------


def confirmation_job(account_id: int) -> bool:
    """The RQ job: a fresh link to the account's contact, while it waits for confirmation."""
    account = db.session.get(Account, account_id)
    if account is None or not account.emergency_email or account.emergency_confirmed_at is not None:
        return False
    config = current_app.config
    if not config["SMTP_HOST"]:
        log.warning("account %s: an emergency contact to confirm, but no SMTP_HOST to send the link with", account.id)
        return False
    context = {
        "link": f"{str(config['PUBLIC_URL']).rstrip('/')}{LINK_PATH}{make_token(account)}",
        "email": in_unicode(account.emergency_email),
        "account": shown(account.name),
        "days": LINK_DAYS,
    }
    with force_locale(contact_locale(account.emergency_email, owners(account))):
        subject = gettext("Confirm the emergency contact of %(account)s", account=shown(account.name))
        text = render_template("email/emergency_contact.txt", **context)
        html = render_template("email/emergency_contact.html", **context)
    message = compose(account.emergency_email, subject, text, html)
    return deliver(message, f"account {account.id}: could not send the emergency contact's link")


def _hand_over(account_id: int) -> None:
    q = queue()
    if q is not None:
        try:
            q.enqueue(confirmation_job, account_id, job_timeout=60, result_ttl=0, failure_ttl=86400)
            return
        except RedisError as exc:
            log.warning("cannot hand an emergency contact's link to a worker (%s); sending it from here", exc)
    # A new app context gives it a session of its own, as a worker's (this one is mid-commit).
    with current_app.app_context():
        try:
            confirmation_job(account_id)
        except Exception:  # the change is committed; the request must not fail now
            log.exception("account %s: sending the emergency contact's link failed", account_id)


def _after_commit(session: Session) -> None:
    for account_id in sorted(session.info.pop(PENDING, ())):
        _hand_over(account_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    # The sessionmaker is shared by every app, so listen once. After the commit: the worker must
    # find the new address, not the old one.
    factory = db.session.session_factory
    if not sa.event.contains(factory, "after_commit", _after_commit):
        sa.event.listen(factory, "after_commit", _after_commit)
        sa.event.listen(factory, "after_rollback", _after_rollback)
