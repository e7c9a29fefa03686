from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm, LogoutForm
from portal.extensions import db
from portal.models import User, utcnow
from portal.security.passwords import check_password
from portal.security.roles import public, user
from portal.security.throttle import login_blocked, login_failed

BAD_LOGIN = "Wrong e-mail or password."


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never "//evil", "/\\evil" (browsers read it as //) or "https://evil".
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable()):
        parts = urlsplit(urljoin(request.host_url, target))
        if parts.netloc == urlsplit(request.host_url).netloc:
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email, ip = form.email.data.strip().lower(), request.remote_addr or "-"
        if login_blocked(email, ip):
            abort(429)
        user = db.session.scalar(sa.select(User).where(User.email == email))
        ok, new_hash = check_password(form.password.data, user.password_hash if user else None)
        if ok and user.is_active:
            if new_hash:
                user.password_hash = new_hash
            next_url = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session: nothing from before login carries over
            login_user(user)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(next_url)
        login_failed(email, ip)
        form.password.errors.append(BAD_LOGIN)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@user
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
