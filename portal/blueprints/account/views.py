"""A user's own login: password, e-mail, timezone and two-factor login; and the account's
emergency contact, with the public page its confirmation link opens.

The credentials are out of reach while someone impersonates the user; the emergency contact is the
account's, not the login's, so support may set it for them (audited with both names).
"""

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.blueprints.account.forms import (
    CodeConfirmForm,
    ConfirmContactForm,
    EmailChangeForm,
    EmergencyContactForm,
    LanguageForm,
    PasswordChangeForm,
    ResendContactForm,
    RevokeTokenForm,
    TimezoneForm,
    TokenForm,
)
from portal.blueprints.common import refusals, saved
from portal.blueprints.enrolment import BAD_CODE, enrol_page
from portal.extensions import db
from portal.i18n import LANGUAGES, refresh
from portal.models import utcnow
from portal.models.naming import in_unicode
from portal.security import totp
from portal.security.audit import audit
from portal.security.impersonation import not_while_impersonating
from portal.security.roles import public, user
from portal.security.scoping import current_actor
from portal.services import ServiceError, contacts, tokens
from portal.services.logins import change_email, change_password
from portal.words import gettext, ngettext

bp = Blueprint("account", __name__, url_prefix="/account")

TOKEN_DAYS = 90  # a new token's expiry, unless its owner picks another day


def _page(**forms):
    forms.setdefault("password_form", PasswordChangeForm(formdata=None))
    forms.setdefault("email_form", EmailChangeForm(formdata=None))
    forms.setdefault("timezone_form", TimezoneForm(formdata=None, timezone=current_user.timezone))
    forms.setdefault("code_form", CodeConfirmForm(formdata=None))
    forms.setdefault("language_form", _language_form(formdata=None, locale=current_user.locale or ""))
    account = current_actor().scope  # whose contact the page sets: a reseller inside a sub-account, that one's
    if account is not None:
        forms.setdefault("contact_form", EmergencyContactForm(formdata=None))
        forms["resend_form"] = ResendContactForm(formdata=None)
    return render_template(
        "account/index.html",
        codes_left=totp.recovery_codes_left(current_user),
        account=account,
        contact_hosted=contacts.hosted_now(account) if account is not None else None,
        **forms,
    )


@bp.route("/")
@user
def index():
    return _page()


@bp.route("/password", methods=["POST"])
@user
@not_while_impersonating
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        with refusals(form):
            ended = change_password(current_actor(), form.current.data, form.password.data)
            words = ngettext(
                "Your password is changed. %(num)d other session was logged out.",
                "Your password is changed. %(num)d other sessions were logged out.",
                ended,
            )
            return saved(words, url_for(".index"))
    return _page(password_form=form)


@bp.route("/email", methods=["POST"])
@user
@not_while_impersonating
def email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        with refusals(form):
            change_email(current_actor(), form.current.data, form.email.data)
            return saved(gettext("Your login e-mail is changed."), url_for(".index"))
    return _page(email_form=form)


@bp.route("/emergency-contact", methods=["POST"])
@user
def emergency_contact():
    form = EmergencyContactForm()
    if form.validate_on_submit():
        with refusals(form):
            outcome = contacts.set_contact(current_actor(), form.emergency_email.data)
            if outcome == contacts.Outcome.CONFIRMED_ALREADY:
                words = gettext("That address is the emergency contact already, and it is confirmed.")
            else:
                words = gettext(
                    "A confirmation link is on its way to %(email)s. Warnings go there once it is opened.",
                    email=form.emergency_email.data.strip(),
                )
            return saved(words, url_for(".index"))
    return _page(contact_form=form)


@bp.route("/emergency-contact/resend", methods=["POST"])
@user
def resend_contact_link():
    form = ResendContactForm()
    if form.validate_on_submit():
        try:
            account = contacts.resend(current_actor())
            address = in_unicode(account.emergency_email or "")
            return saved(
                gettext("A new confirmation link is on its way to %(email)s.", email=address), url_for(".index")
            )
        except ServiceError as refused:
            db.session.rollback()
            flash(refused.message, "danger")
    return redirect(url_for(".index"))


def _link_refused():
    return render_template("account/contact_refused.html", days=contacts.LINK_DAYS), 404


@bp.route(f"{contacts.LINK_PATH.removeprefix('/account')}<token>", methods=["GET", "POST"])
@public
def confirm_contact(token: str):
    """The link from the mail: GET shows what it confirms, and only the POST (CSRF-protected) does."""
    account = contacts.account_for_token(token)
    if account is None:
        return _link_refused()
    form = ConfirmContactForm()
    if form.validate_on_submit():
        if contacts.confirm(token) is None:  # confirmed or changed meanwhile
            db.session.rollback()
            return _link_refused()
        address = in_unicode(account.emergency_email or "")
        return saved(
            gettext("%(email)s is confirmed: warnings go there now.", email=address), url_for(".contact_confirmed")
        )
    return render_template("account/contact_confirm.html", form=form, account=account)


@bp.route("/emergency-contact/confirmed")
@public
def contact_confirmed():
    return render_template("account/contact_confirmed.html")


@bp.route("/timezone", methods=["POST"])
@user
@not_while_impersonating
def timezone():
    form = TimezoneForm()
    if form.validate_on_submit():
        current_user.timezone = form.timezone.data
        _audit("user.timezone", {"timezone": form.timezone.data})
        return saved(gettext("Times are now shown in %(zone)s.", zone=form.timezone.data), url_for(".index"))
    return _page(timezone_form=form)


def _language_form(**kwargs) -> LanguageForm:
    form = LanguageForm(**kwargs)
    form.locale.choices = [("", gettext("As my browser asks")), *LANGUAGES.items()]
    return form


@bp.route("/language", methods=["POST"])
@user
@not_while_impersonating
def language():
    form = _language_form()
    if form.validate_on_submit():
        current_user.locale = form.locale.data or None
        _audit("user.locale", {"locale": form.locale.data or "browser"})
        refresh()  # the flash below is in the new language
        return saved(gettext("Your language is saved."), url_for(".index"))
    return _page(language_form=form)


@bp.route("/two-factor", methods=["GET", "POST"])
@user
@not_while_impersonating
def two_factor():
    """Turn on two-factor login: scan, then confirm with a code."""
    if current_user.totp_enabled:
        return redirect(url_for(".index"))

    def confirmed(codes):
        _audit("user.two_factor_on")
        db.session.commit()
        return render_template("two_factor/recovery_codes.html", codes=codes, next_url=url_for(".index"))

    return enrol_page(current_user._get_current_object(), confirmed, required=False)


@bp.route("/two-factor/off", methods=["POST"])
@user
@not_while_impersonating
def two_factor_off():
    form = CodeConfirmForm()
    if current_user.is_staff:
        flash(gettext("Staff and admins must keep two-factor login."), "danger")
    elif form.validate_on_submit():
        if totp.verify(current_user, form.code.data):
            totp.disable(current_user)
            _audit("user.two_factor_off")
            db.session.commit()
            flash(gettext("Two-factor login is off."), "success")
        else:
            db.session.rollback()
            flash(str(BAD_CODE), "danger")
    return redirect(url_for(".index"))


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@user
@not_while_impersonating
def recovery_codes():
    form = CodeConfirmForm()
    if form.validate_on_submit() and current_user.totp_enabled:
        if totp.verify(current_user, form.code.data):
            codes = totp.new_recovery_codes(current_user)
            _audit("user.recovery_codes")
            db.session.commit()
            return render_template("two_factor/recovery_codes.html", codes=codes, next_url=url_for(".index"))
        db.session.rollback()
        flash(str(BAD_CODE), "danger")
    return redirect(url_for(".index"))


def _audit(action: str, fields: dict | None = None) -> None:
    audit(
        current_actor(),
        action,
        obj=current_user._get_current_object(),
        account_id=current_user.account_id,
        fields=fields,
    )


# API tokens


def _area_words() -> dict[str, str]:
    return {
        "domains": gettext("Domains"),
        "dns": gettext("DNS"),
        "mail": gettext("Mail"),
        "web": gettext("System users, web apps, websites"),
        "databases": gettext("Databases"),
        "accounts": gettext("Sub-accounts"),
        "activity": gettext("Activity"),
    }


def _access_words() -> dict[str, str]:
    return {"read": gettext("Read"), "write": gettext("Read and change")}


def _token_form(**kwargs) -> TokenForm:
    actor = current_actor()
    form = TokenForm(**kwargs)
    access = _access_words()
    form.scopes.choices = [(s, access[s.partition(":")[2]]) for s in tokens.scopes_for(actor)]
    form.account_ids.choices = [(a.id, a.name) for a in tokens.sub_accounts(actor)]
    return form


def _tokens_page(form: TokenForm | None = None, secret: str | None = None, made=None):
    if form is None:
        form = _token_form(formdata=None, expires_at=(utcnow() + timedelta(days=TOKEN_DAYS)).date())
    areas = _area_words()
    groups: dict[str, list] = {}
    for option in form.scopes:
        groups.setdefault(option.data.partition(":")[0], []).append(option)
    actor = current_actor()
    subs = {a.id: a.name for a in tokens.sub_accounts(actor)}
    return render_template(
        "account/tokens.html",
        form=form,
        scope_groups=[(areas.get(area, area), options) for area, options in groups.items()],
        tokens=tokens.own_tokens(actor),
        sub_names=subs,
        now=utcnow(),
        secret=secret,
        made=made,
        revoke_form=RevokeTokenForm(formdata=None),
    )


@bp.route("/tokens")
@user
def tokens_index():
    return _tokens_page()


@bp.route("/tokens", methods=["POST"])
@user
@not_while_impersonating
def create_token():
    form = _token_form()
    if form.validate_on_submit():
        with refusals(form):
            now = utcnow()
            token, secret = tokens.create_token(
                current_actor(),
                name=form.name.data,
                scopes=form.scopes.data or [],
                expires_at=datetime.combine(form.expires_at.data, now.time(), tzinfo=now.tzinfo),
                account_ids=form.account_ids.data or [],
                networks=(form.networks.data or "").splitlines(),
            )
            db.session.commit()
            # Shown on this answer only (never flashed, never in the session); the page is not cached.
            return _tokens_page(secret=secret, made=token)
    return _tokens_page(form=form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@user
@not_while_impersonating
def revoke_token(token_id: int):
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        return redirect(url_for(".tokens_index"))
    token = tokens.revoke_token(current_actor(), token_id)
    if token is None:
        abort(404)
    return saved(gettext("The token %(name)s is revoked.", name=token.name), url_for(".tokens_index"))
