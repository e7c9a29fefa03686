"""Who may act as whom, for how long, and what stays out of reach meanwhile.

Staff may impersonate customers and resellers; a reseller, its sub-accounts' users. Nobody
impersonates staff, admins, themselves or a suspended account, and there is no nesting. It ends
after IMPERSONATION_MINUTES, or at the next request once the permission is gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from flask import abort, current_app, flash, request
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from portal.extensions import babel, db
from portal.models import AccountKind, LoginSession, User, utcnow
from portal.security import sessions
from portal.security.audit import audit
from portal.security.roles import View
from portal.security.scoping import Actor
from portal.words import gettext, lazy_gettext, ngettext

NOT_FOUND = 404


def refusal(real: User, target: User) -> tuple[int, str | LazyString] | None:
    """(HTTP status, reason) when `real` may not impersonate `target`; None when they may. The reason is
    lazy: end_if_over() asks while the user is being loaded, before the request knows its language."""
    if real.is_staff:
        if target.id == real.id:
            return 403, lazy_gettext("You cannot impersonate yourself.")
        if target.is_staff or target.account is None:
            return 403, lazy_gettext("Staff and admins cannot be impersonated.")
    else:
        reseller = real.account
        if (
            reseller is None
            or reseller.kind != AccountKind.RESELLER
            or target.account is None
            or target.account.parent_id != reseller.id
        ):
            return NOT_FOUND, ""  # not theirs: the same answer as a missing user
    if not target.is_active or target.account.deleting_at is not None:
        return 403, lazy_gettext("Suspended accounts cannot be impersonated.")
    return None


def impersonating(row: LoginSession | None = None) -> bool:
    row = row if row is not None else sessions.current()
    return row is not None and row.subject_id is not None


def _subject(row: LoginSession) -> tuple[User, datetime]:
    """Who the session impersonates, and since when; only for a session that impersonates."""
    if row.subject is None or row.impersonating_since is None:
        raise ValueError("this session impersonates nobody")
    return row.subject, row.impersonating_since


def ends_at(row: LoginSession) -> datetime:
    _, since = _subject(row)
    return since + timedelta(minutes=current_app.config["IMPERSONATION_MINUTES"])


def start(row: LoginSession, target: User, reason: str) -> None:
    """Act as `target` from the next request on. The caller has checked `refusal()`; it commits."""
    row.subject_id, row.reason, row.impersonating_since = target.id, reason, utcnow()
    audit(
        Actor(user=target, real_user=row.user),
        "impersonation.start",
        obj=target,
        account_id=target.account_id,
        fields={"reason": reason, "by": row.user.email},
    )
    sessions.rotate(row, target)


def stop(row: LoginSession, why: str = "stopped") -> User:
    """Back to the real user, on a new session id; returns who was impersonated. The caller commits."""
    subject, since = _subject(row)
    minutes = int((utcnow() - since).total_seconds() // 60)
    audit(
        Actor(user=subject, real_user=row.user),
        "impersonation.stop",
        obj=subject,
        account_id=subject.account_id,
        fields={"reason": row.reason, "by": row.user.email, "ended": why, "minutes": minutes},
    )
    row.subject_id, row.reason, row.impersonating_since = None, "", None
    sessions.rotate(row, row.user)
    return subject


def end_if_over(row: LoginSession) -> bool:
    """End an impersonation that ran out or lost its permission. True if it ended."""
    # `why` goes on record as written here (events in words read it); the flash is in the language of
    # the real user, who this request now acts as.
    minutes = current_app.config["IMPERSONATION_MINUTES"]
    if utcnow() >= ends_at(row):
        why = f"ended after {minutes} minutes"
    elif refusal(row.user, _subject(row)[0]) is not None:
        why = "ended: the permission is gone"
    else:
        return False
    stop(row, why)
    db.session.commit()
    with force_locale(_language_of(row.user)):
        if why == "ended: the permission is gone":
            words = gettext("The impersonation ended: the permission is gone. You are yourself again.")
        else:
            words = ngettext(
                "The impersonation ended after %(num)d minute. You are yourself again.",
                "The impersonation ended after %(num)d minutes. You are yourself again.",
                minutes,
            )
    flash(words, "warning")
    return True


def _language_of(user: User) -> str:
    """The language a request of `user` speaks: their choice, else the browser's (i18n.pick_locale's
    rule; that module sits above this one). Asked while Flask-Login loads the user, when the request
    cannot pick its language itself (picking reads current_user, which is being loaded)."""
    known = [str(locale) for locale in babel.list_translations()]
    if user.locale in known:
        return str(user.locale)
    return request.accept_languages.best_match(known) or current_app.config["BABEL_DEFAULT_LOCALE"]


def not_while_impersonating(view: View) -> View:
    """Refuse the subject's own credentials and account deletion to whoever is impersonating."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if impersonating():
            abort(403, description=gettext("This is not available while you are impersonating someone."))
        return view(*args, **kwargs)

    setattr(wrapped, "refused_while_impersonating", True)  # noqa: B010 (read by the tests)
    return cast(View, wrapped)  # wraps() keeps the view's signature; its type says less
