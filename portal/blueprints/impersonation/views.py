"""Start and stop impersonating. The rules live in portal/security/impersonation.py."""

from flask import Blueprint, abort, flash, redirect, url_for

from portal.blueprints.common import saved
from portal.blueprints.impersonation.forms import ImpersonateForm, StopForm
from portal.extensions import db
from portal.models import User, utcnow
from portal.models.naming import named
from portal.security import impersonation, sessions, totp
from portal.security.roles import user
from portal.words import gettext

bp = Blueprint("impersonation", __name__)


def _back(real: User, target: User | None) -> str:
    if real.is_staff and target is not None and target.account_id is not None:
        return url_for("staff.account", account_id=target.account_id)
    if real.is_staff:
        return url_for("staff.accounts")
    return url_for("reseller.accounts")


@bp.route("/impersonate/<int:subject_id>", methods=["POST"])
@user
def start(subject_id: int):
    row = sessions.required()
    if impersonation.impersonating(row):
        abort(403, description=gettext("Stop the current impersonation first: impersonations do not nest."))
    real, target = row.user, db.session.get(User, subject_id)
    if target is None:
        abort(404)
    refused = impersonation.refusal(real, target)
    if refused is not None:
        status, message = refused
        abort(status, description=str(message) if message else None)
    form = ImpersonateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(_back(real, target))
    if real.is_staff and not sessions.stepped_up(row):
        # Staff confirm with a fresh authenticator code; it may come with the form.
        if not (form.code.data and totp.verify(real, form.code.data)):
            db.session.rollback()
            flash(gettext("Type a fresh code from your authenticator app to impersonate."), "danger")
            return redirect(_back(real, target))
        row.stepped_up_at = utcnow()
    impersonation.start(row, target, form.reason.data.strip())
    done = gettext("You are acting as %(name)s. Every step is recorded with your name.", name=named(target))
    return saved(done, url_for("dashboard.index"), "info")


@bp.route("/impersonate/stop", methods=["POST"])
@user
def stop():
    row = sessions.required()
    if StopForm().validate_on_submit() and impersonation.impersonating(row):
        subject = impersonation.stop(row)
        return saved(gettext("You stopped acting as %(name)s.", name=named(subject)), _back(row.user, subject), "info")
    return redirect(url_for("dashboard.index"))
