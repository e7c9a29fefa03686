"""Who a request acts as: Flask-Login's user loader, decided by the server-side session row."""

from __future__ import annotations

from flask import Flask, session

from portal.extensions import db, login_manager
from portal.models import User
from portal.security import impersonation, sessions


def load_user(user_id: str) -> User | None:
    """The session row decides: logged out, expired, suspended, or impersonating someone."""
    row = sessions.current()
    if row is None or not row.user.is_active:
        if row is not None:
            db.session.delete(row)
            db.session.commit()
        session.clear()
        return None
    if row.subject_id is not None and impersonation.end_if_over(row):
        return row.user  # back as themselves, on a new session id
    user = row.subject or row.user
    if str(user.id) != user_id:
        return None
    sessions.touch(row)
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # "strong" would log people out whenever their IP changes (mobile networks).
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
