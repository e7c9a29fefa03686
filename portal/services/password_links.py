"""Set-password links: "Forgot password?", and the link a reseller or staff e-mail to an owner.

A link is signed (itsdangerous, under SECRET_KEY), names the login and carries a fingerprint (an HMAC)
of its current password hash, never a part of the hash itself. Setting a password changes the hash, so
a link works once, and a newer password spends every older link. It expires after LINK_SECONDS.

Nothing of a link is stored: a worker makes it and mails it. The job carries an e-mail address or a
login's id, never the token, and neither the audit trail nor a log line sees it. The mail links to
PUBLIC_URL, never to the Host header a request came with (which the asker could have chosen).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItemPerHour
from redis.exceptions import RedisError

from portal.extensions import db
from portal.models import AccountKind, User
from portal.orchestration.mailer import compose, deliver
from portal.orchestration.queue import queue
from portal.security import sessions, throttle
from portal.security.audit import audit
from portal.security.passwords import hash_password
from portal.security.scoping import Actor, console, sub_account
from portal.security.strength import user_names
from portal.services import ServiceError, refuse_weak_password
from portal.words import gettext, ngettext

log = logging.getLogger(__name__)

LINK_SECONDS = 3600
LINK_PATH = "/reset-password/"  # the auth blueprint's route for it, and what the mail links to
SALT = "hostdeck-password-link"
INT_MAX = 2**31 - 1


class TooMany(ServiceError):
    """Past the hourly limit of links for an e-mail address or from an IP: 429, with when to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def fingerprint(password_hash: str) -> str:
    """Stands for the current hash in a link: changes with it, and tells nothing about it."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(user: User, salt: str = SALT) -> str:
    token: str = _serializer(salt).dumps({"u": user.id, "f": fingerprint(user.password_hash)})
    return token


def user_for_token(token: str, *, salt: str = SALT, max_age: int = LINK_SECONDS, lock: bool = False) -> User | None:
    """The active login a link is for; None when it expired, was used, or is not one of ours.

    lock: hold the login's row, so that of two uses at once the second waits, sees the new hash, and fails."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    user_id, mark = data.get("u"), data.get("f")
    if not isinstance(user_id, int) or not 0 < user_id <= INT_MAX or not isinstance(mark, str):
        return None
    user = db.session.get(User, user_id, with_for_update=lock, populate_existing=lock)
    if user is None or not user.is_active or not hmac.compare_digest(fingerprint(user.password_hash), mark):
        return None
    return user


def set_password(token: str, password: str) -> User | None:
    """Set the password of the link's login; None when the link no longer works.

    Every session of the login ends: whoever had it is out. Two-factor login stays as it was, so staff,
    admins and anyone who turned it on still type their code at the next login."""
    user = user_for_token(token, lock=True)
    if user is None:
        return None
    refuse_weak_password(password, *user_names(user))
    user.password_hash = hash_password(password)
    sessions.end_others(user, keep=None)
    audit(None, "user.password", obj=user, account_id=user.account_id, fields={"via": "password link"})
    return user


def _spend(email: str, ip: str | None) -> None:
    config = current_app.config
    rules: list[throttle.Rule] = [
        (RateLimitItemPerHour(int(config["PASSWORD_LINKS_PER_EMAIL_HOUR"])), ("password-link-email", email))
    ]
    if ip is not None:
        rules.append((RateLimitItemPerHour(int(config["PASSWORD_LINKS_PER_IP_HOUR"])), ("password-link-ip", ip)))
    spent = throttle.spend(rules)
    if spent is not None:
        wait = spent[1]
        message = ngettext(
            "Too many requests for a link. Try again in %(num)d minute.",
            "Too many requests for a link. Try again in %(num)d minutes.",
            wait // 60 + 1,
        )
        raise TooMany(message, wait)


def forgot_password(email: str, ip: str) -> None:
    """ "Forgot password?": one job for a worker, whether or not the address logs in anywhere.

    The request does the same work either way (the throttle, one job); the worker looks the login up.
    Without Redis (the demo) the job runs here, and a known address then waits for the mail server."""
    email = email.strip().lower()
    _spend(email, ip)
    hand_over(forgot_job, email)


def hand_over(job: Callable[..., bool], *args: Any) -> None:
    """To a worker (the job carries ids, never a link); without one, sent from here."""
    q = queue()
    if q is not None:
        try:
            q.enqueue(job, *args, job_timeout=60, result_ttl=0, failure_ttl=86400)
            return
        except RedisError as exc:
            log.warning("cannot hand a password link to a worker (%s); sending it from here", exc)
    job(*args)


def forgot_job(email: str) -> bool:
    """The RQ job behind "Forgot password?": a link for an active login with this address, if any."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.is_active:
        return False
    if not _send(user, sender=None):
        return False
    audit(None, "user.password_link", obj=user, account_id=user.account_id, fields={"via": "forgot password"})
    db.session.commit()
    return True


def set_password_link_job(user_id: int, sender: str) -> bool:
    """The RQ job behind "Send a set-password link": sender is the reseller's name, or "" for support."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    return _send(user, sender=sender)


def send_link_as_reseller(actor: Actor, subject_id: int) -> User:
    """A reseller e-mails a link to a login of one of its own sub-accounts; anyone else's is a 404."""
    account = actor.user.account
    reseller = account if account is not None and account.kind == AccountKind.RESELLER else None
    target = db.session.get(User, subject_id)
    if reseller is None or target is None or target.account_id is None:
        abort(404)
    if sub_account(reseller, target.account_id) is None:
        abort(404)
    return _send_for(actor, target, reseller.name)


def send_link_as_staff(actor: Actor, subject_id: int) -> User:
    """Staff e-mail a link to any customer's or reseller's login (from the console: not while impersonating)."""
    target = db.first_or_404(console(User, actor).where(User.id == subject_id))
    if target.is_staff:
        # Refused outright rather than allowed behind a step-up: a staff or admin login reaches every
        # account, so no colleague should start a way into it, even one that only reaches its owner's
        # mailbox. They ask for their own link with "Forgot password?", and their second factor stands.
        raise ServiceError(
            gettext("Staff and admins ask for their own link with “Forgot password?” on the login page.")
        )
    return _send_for(actor, target, "")


def _send_for(actor: Actor, target: User, sender: str) -> User:
    if not target.is_active:
        raise ServiceError(gettext("%(email)s is suspended: resume it first.", email=target.email))
    try:
        _spend(target.email, None)
    except TooMany as refused:
        minutes = refused.retry_after // 60 + 1
        raise ServiceError(
            ngettext(
                "Several links went to %(email)s within the hour. Try again in %(num)d minute.",
                "Several links went to %(email)s within the hour. Try again in %(num)d minutes.",
                minutes,
                email=target.email,
            )
        ) from None
    audit(actor, "user.password_link", obj=target, account_id=target.account_id, fields={"to": target.email})
    hand_over(set_password_link_job, target.id, sender)
    return target


def _send(user: User, sender: str | None) -> bool:
    """Mail the login a fresh link. sender None: the login asked ("Forgot password?")."""
    return send_link(user, sender, f"{LINK_PATH}{make_token(user)}", minutes=LINK_SECONDS // 60)


def send_link(user: User, sender: str | None, path: str, *, minutes: int = 0, days: int = 0) -> bool:
    """Mail the login the link at `path` (on PUBLIC_URL), valid so many minutes or days."""
    config = current_app.config
    if not config["SMTP_HOST"]:
        log.warning("login %s: a password link, but no SMTP_HOST to send it with", user.id)
        return False
    context = {
        "link": f"{str(config['PUBLIC_URL']).rstrip('/')}{path}",
        "email": user.email,
        "sender": sender,
        "minutes": minutes,
        "days": days,
    }
    with force_locale(user.locale or "en"):  # in the owner's language, not the sender's
        subject = gettext("Set a new Hostdeck password") if sender is None else gettext("Set your Hostdeck password")
        text = render_template("email/password_link.txt", **context)
        html = render_template("email/password_link.html", **context)
    return deliver(compose(user.email, subject, text, html), f"login {user.id}: could not send the password link")
