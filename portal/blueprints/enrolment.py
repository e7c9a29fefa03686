"""Setting up two-factor login: at a staff member's first login (auth) and in account settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template

from portal.blueprints.forms import EnrolForm
from portal.extensions import db
from portal.models import User
from portal.security import totp
from portal.words import lazy_gettext

BAD_CODE = lazy_gettext("That code is wrong or was already used.")


def enrol_page(user: User, confirmed: Callable[[list[str]], Any], *, required: bool) -> Any:
    """Setting up two-factor login: the pending seed (made on first view) as a QR code, and the
    code that confirms it. `confirmed(codes)` answers once a code matched."""
    seed = totp.seed_of(user)
    if seed is None:
        seed = totp.begin_enrolment(user)
        db.session.commit()
    form = EnrolForm()
    if form.validate_on_submit():
        codes = totp.confirm_enrolment(user, form.code.data)
        if codes is not None:
            return confirmed(codes)
        db.session.rollback()
        form.code.errors.append(BAD_CODE)
    uri = totp.provisioning_uri(user, seed)
    return render_template(
        "two_factor/enrol.html", form=form, seed=seed, qr=totp.qr_data_uri(uri), email=user.email, required=required
    )
