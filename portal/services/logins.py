"""A user's own login credentials. Never reachable while impersonating."""

from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from portal.extensions import db
from portal.models import User
from portal.models.naming import in_unicode
from portal.security import sessions
from portal.security.audit import audit
from portal.security.passwords import check_password, hash_password
from portal.security.scoping import Actor
from portal.security.strength import actor_names
from portal.security.throttle import client_ip, login_blocked, login_failed
from portal.services import ServiceError, refuse_weak_password
from portal.words import gettext


def _check_current(actor: Actor, current: str) -> User:
    if actor.real_user is not None:
        raise ServiceError(gettext("This is not available while you are impersonating someone."))
    user = actor.user
    ip = client_ip()
    if login_blocked(user.email, ip):
        raise ServiceError(gettext("Too many wrong passwords. Wait a minute and try again."), field="current")
    ok, _ = check_password(current, user.password_hash)
    if not ok:
        login_failed(user.email, ip)
        raise ServiceError(gettext("Your current password is wrong."), field="current")
    return user


def change_password(actor: Actor, current: str, new: str) -> int:
    """Set a new login password and end the user's other sessions; how many ended.

    This session gets a new id too, so a cookie copied before the change is worth nothing.
    """
    user = _check_current(actor, current)
    if check_password(new, user.password_hash)[0]:
        raise ServiceError(gettext("Choose a password different from your current one."), field="password")
    refuse_weak_password(new, *actor_names(actor))
    user.password_hash = hash_password(new)
    row = sessions.current()
    ended = sessions.end_others(user, keep=row)
    if row is not None:
        sessions.rotate(row, user)
    audit(actor, "user.password", obj=user, account_id=user.account_id)
    return ended


def change_email(actor: Actor, current: str, email: str) -> None:
    user = _check_current(actor, current)
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:  # its words are English only: ours say the same
        raise ServiceError(gettext("Type a valid e-mail address, such as name@example.com."), field="email") from exc
    if db.session.scalar(sa.select(sa.func.count()).where(User.email == email, User.id != user.id)):
        # Nothing about whose login it is: logins are unique across every account.
        raise ServiceError(
            gettext("%(email)s is not available; choose another.", email=in_unicode(email)), field="email"
        )
    old, user.email = user.email, email
    audit(actor, "user.email", obj=user, account_id=user.account_id, fields={"from": old, "to": email})
