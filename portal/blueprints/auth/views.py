"""Login (password, then the second factor when the user has or needs one), step-up and logout."""

import time
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from portal.blueprints.auth.forms import CodeForm, ForgotForm, LoginForm, LogoutForm, ResetForm
from portal.blueprints.common import refusals, saved
from portal.blueprints.enrolment import BAD_CODE, enrol_page
from portal.extensions import db
from portal.models import User, utcnow
from portal.security import cookies, impersonation, sessions, totp
from portal.security.impersonation import not_while_impersonating
from portal.security.passwords import check_password
from portal.security.roles import public, user
from portal.security.throttle import client_ip, login_blocked, login_failed
from portal.services import password_links
from portal.words import gettext, lazy_gettext

bp = Blueprint("auth", __name__)

BAD_LOGIN = lazy_gettext("Wrong e-mail or password.")
PENDING = "pending_login"
PENDING_SECONDS = 300  # the second step must follow the first within this


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never "//evil", "/\\evil" (browsers read it as //) or "https://evil".
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        parts = urlsplit(urljoin(request.host_url, target))
        if parts.netloc == urlsplit(request.host_url).netloc:
            return target
    return url_for("dashboard.index")


def _log_in(user: User, *, stepped_up: bool) -> None:
    sessions.begin(user, stepped_up=stepped_up)
    user.last_login_at = utcnow()
    db.session.commit()


def _finish_login(user: User, next_url: str, *, stepped_up: bool):
    _log_in(user, stepped_up=stepped_up)
    return redirect(next_url)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email, ip = form.email.data.strip().lower(), client_ip()
        if login_blocked(email, ip):
            abort(429)
        user = db.session.scalar(sa.select(User).where(User.email == email))
        ok, new_hash = check_password(form.password.data, user.password_hash if user else None)
        if user is not None and ok and not user.is_active:
            # The right password, and only then: a wrong one says nothing of the account's state.
            form.password.errors.append(_suspended(user))
            return render_template("auth/login.html", form=form)
        if user is not None and ok and user.is_active:
            if new_hash:
                user.password_hash = new_hash
                db.session.commit()
            next_url = _safe_next(request.args.get("next"))
            if not user.needs_two_factor:
                session.clear()
                return _finish_login(user, next_url, stepped_up=False)
            # The password was right; the login waits for the second factor.
            session.clear()
            session[PENDING] = {"user": user.id, "at": int(time.time()), "next": next_url}
            return redirect(url_for(".two_factor" if user.totp_enabled else ".enrol"))
        login_failed(email, ip)
        form.password.errors.append(BAD_LOGIN)
    return render_template("auth/login.html", form=form)


def _suspended(user: User) -> str:
    """Whom a suspended login turns to: the reseller of a sub-account, else support."""
    parent = user.account.parent if user.account is not None else None
    whom = parent.name if parent is not None else gettext("support")
    return gettext("This login is suspended. Contact %(whom)s to have it resumed.", whom=whom)


def _pending_user() -> tuple[User, str]:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        abort(redirect(url_for(".login")))
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.is_active:
        session.pop(PENDING, None)
        abort(redirect(url_for(".login")))
    return user, pending.get("next") or url_for("dashboard.index")


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public
def two_factor():
    user, next_url = _pending_user()
    if not user.totp_enabled:
        return redirect(url_for(".enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        if totp.verify(user, form.code.data):  # throttled: wrong codes count per user and per IP
            session.pop(PENDING, None)
            return _finish_login(user, next_url, stepped_up=True)
        db.session.rollback()
        form.code.errors.append(BAD_CODE)
    return render_template("auth/two_factor.html", form=form, email=user.email)


@bp.route("/login/two-factor/setup", methods=["GET", "POST"])
@public
def enrol():
    """Staff and admins must have two-factor login: the first login sets it up."""
    user, next_url = _pending_user()
    if user.totp_enabled:
        return redirect(url_for(".two_factor"))

    def confirmed(codes):
        session.pop(PENDING, None)
        _log_in(user, stepped_up=True)
        return render_template("two_factor/recovery_codes.html", codes=codes, next_url=next_url)

    return enrol_page(user, confirmed, required=True)


@bp.route("/step-up", methods=["GET", "POST"])
@user
@not_while_impersonating
def step_up():
    """Type the authenticator code again before a sensitive step (staff: before impersonating)."""
    form = CodeForm()
    next_url = _safe_next(request.args.get("next"))
    if not current_user.totp_enabled:
        flash(gettext("Turn on two-factor login first."), "warning")
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        if totp.verify(current_user, form.code.data):
            sessions.required().stepped_up_at = utcnow()
            db.session.commit()
            return redirect(next_url)
        db.session.rollback()
        form.code.errors.append(BAD_CODE)
    return render_template("auth/step_up.html", form=form)


@bp.route("/logout", methods=["POST"])
@user
def logout():
    if LogoutForm().validate_on_submit():
        row = sessions.required()
        if impersonation.impersonating(row):
            impersonation.stop(row, "logged out")
        sessions.end()
        db.session.commit()
        flash(gettext("You are logged out."), "info")
    return redirect(url_for("auth.login"))


RESET = "password_link"  # the opened link's token, in the session: the page's own address carries none


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        try:
            password_links.forgot_password(form.email.data, client_ip())
        except password_links.TooMany as refused:
            db.session.rollback()
            form.email.errors.append(refused.message)
            return render_template("auth/forgot.html", form=form), 429, {"Retry-After": str(refused.retry_after)}
        return redirect(url_for(".forgot_sent"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/forgot-password/sent")
@public
def forgot_sent():
    # The same words whether or not the address logs in anywhere.
    return render_template("auth/forgot_sent.html")


def _link_refused():
    session.pop(RESET, None)
    return render_template("auth/reset_refused.html"), 404


@bp.route(f"{password_links.LINK_PATH}<token>")
@public
def reset_link(token: str):
    """The link from the mail: checked, then kept in the session, and the form opens on an address
    without it (so neither the browser's history nor a Referer header carries it further)."""
    if password_links.user_for_token(token) is None:
        return _link_refused()
    session[RESET] = token
    return redirect(url_for(".reset_password", opened=1))


@bp.route("/reset-password", methods=["GET", "POST"])
@public
def reset_password():
    token = session.get(RESET)
    if not isinstance(token, str):
        # opened=1: the redirect from a good link, so a missing token means the cookie did not come back.
        words = cookies.trouble(from_link=True) if request.args.get("opened") else None
        if words is not None:  # the link was good, but the browser dropped the cookie that kept it
            return render_template("errors/cookies.html", message=words), 400
        return _link_refused()
    owner = password_links.user_for_token(token)
    if owner is None:
        return _link_refused()
    form = ResetForm()
    if form.validate_on_submit():
        with refusals(form):
            if password_links.set_password(token, form.password.data) is None:  # used meanwhile
                db.session.rollback()
                return _link_refused()
            session.pop(RESET, None)
            return saved(gettext("Your new password is set. Log in with it."), url_for(".login"))
    return render_template("auth/reset.html", form=form, email=owner.email)
