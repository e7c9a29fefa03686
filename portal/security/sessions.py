"""Server-side login sessions.

Flask's signed cookie carries a random session id; the `LoginSession` row it names is the login.
Logging out deletes the row, so a replayed cookie is refused. The id rotates on login and when an
impersonation starts or stops.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort, current_app, g, has_request_context, request, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import LoginSession, User, utcnow
from portal.models.base import rowcount

SID = "sid"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
# Every request runs it: built once, so SQLAlchemy works out its cache key once, not per request.
BY_SID = (
    sa.select(LoginSession)
    .where(LoginSession.sid_hash == sa.bindparam("sid_hash"))
    .options(joinedload(LoginSession.user, innerjoin=True).joinedload(User.account))
)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _new_sid(row: LoginSession) -> None:
    sid = secrets.token_urlsafe(32)
    row.sid_hash = _hash(sid)
    session.clear()  # nothing from before (the acting account, the CSRF token) carries over
    session[SID] = sid


def begin(user: User, *, stepped_up: bool) -> LoginSession:
    """Log the user in on a fresh session. The caller commits."""
    now = utcnow()
    row = LoginSession(
        user=user,
        last_seen_at=now,
        stepped_up_at=now if stepped_up else None,
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    _new_sid(row)
    db.session.add(row)
    login_user(user)
    g.login_session = row
    return row


def rotate(row: LoginSession, as_user: User) -> None:
    """A new id for the same login: the cookie from before stops working. The caller commits."""
    _new_sid(row)
    login_user(as_user)


def end() -> None:
    """Log out here; the session row goes, so the cookie cannot be replayed."""
    row = current()
    if row is not None:
        db.session.delete(row)
    logout_user()
    session.clear()
    g.login_session = None


def end_others(user: User, keep: LoginSession | None) -> int:
    """End the user's sessions elsewhere (after a password change, say)."""
    query = sa.delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    return rowcount(db.session.execute(query))


def _cutoffs() -> tuple[datetime, datetime]:
    """(last seen before, created before): a session older on either count has expired."""
    now, config = utcnow(), current_app.config
    return (now - timedelta(minutes=config["SESSION_IDLE_MINUTES"]), now - timedelta(hours=config["SESSION_MAX_HOURS"]))


def _expired(row: LoginSession) -> bool:
    idle, age = _cutoffs()
    return row.last_seen_at < idle or row.created_at < age


def purge_expired() -> int:
    """Delete the rows of sessions nobody will come back to (the sweeper calls this)."""
    idle, age = _cutoffs()
    return rowcount(
        db.session.execute(
            sa.delete(LoginSession).where(sa.or_(LoginSession.last_seen_at < idle, LoginSession.created_at < age))
        )
    )


def current() -> LoginSession | None:
    """The request's login session, or None when there is none or it has expired."""
    if "login_session" not in g:
        row = None
        sid = session.get(SID)
        if isinstance(sid, str):
            # The person and their account come in the same query; the subject of an impersonation,
            # rarer, loads when asked for (never when subject_id is empty).
            row = db.session.scalar(BY_SID, {"sid_hash": _hash(sid)})
            if row is not None and _expired(row):
                db.session.delete(row)
                db.session.commit()
                row = None
        g.login_session = row
    found: LoginSession | None = g.login_session
    return found


def required() -> LoginSession:
    """The session of a logged-in request: Flask-Login accepted it, so it is there."""
    row = current()
    if row is None:
        abort(401)
    return row


def stepped_up(row: LoginSession | None) -> bool:
    """Did the user type an authenticator code within the last few minutes?"""
    if row is None or row.stepped_up_at is None:
        return False
    return utcnow() - row.stepped_up_at <= timedelta(minutes=current_app.config["STEP_UP_MINUTES"])


def touch(row: LoginSession) -> None:
    """Note that the session is in use (at most every TOUCH_EVERY, committed at once)."""
    now = utcnow()
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(sa.update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        db.session.commit()
