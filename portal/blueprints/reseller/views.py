from collections import defaultdict
from typing import NamedTuple

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for

from portal.blueprints import suspension
from portal.blueprints.common import listing, matching, paginated, refusals, saved
from portal.blueprints.kept import kept
from portal.blueprints.reseller.forms import LimitsForm, SetPasswordForm, SubAccountForm, SwitchForm
from portal.extensions import db
from portal.models import LIMITS, Account, User
from portal.models.kinds import ALL_LIMITS
from portal.security import sessions
from portal.security.audit import audit
from portal.security.impersonation import not_while_impersonating
from portal.security.passwords import hash_password
from portal.security.roles import access, public, user
from portal.security.scoping import ACTING, current_actor, sub_account
from portal.security.strength import user_names
from portal.services import refuse_weak_password, resellers
from portal.services.password_links import send_link_as_reseller
from portal.services.resellers import (
    LINK_DAYS,
    create_sub_account,
    delete_sub_account,
    remaining_services,
    reseller_of,
    set_limits,
    suspend_sub_account,
    usage,
    user_for_token,
)
from portal.services.usage import sub_account_totals
from portal.words import gettext


class Owner(NamedTuple):
    """A sub-account's owner as its row shows them: who, and the words of the buttons for them."""

    id: int
    email: str
    reason_label: str
    log_in_title: str
    link_title: str


bp = Blueprint("reseller", __name__)


def _reseller() -> Account:
    reseller = reseller_of(current_actor())
    if reseller is None:
        abort(404)
    return reseller


@bp.route("/reseller/accounts", methods=["GET", "POST"])
@access("reseller")
@user
@kept
def accounts():
    reseller = _reseller()
    form = SubAccountForm()
    link = None
    if form.validate_on_submit():
        with refusals(form):
            account, token = create_sub_account(
                current_actor(),
                name=form.name.data,
                owner_email=form.owner_email.data,
                emergency_email=form.emergency_email.data,
            )
            db.session.commit()  # the page itself shows the link, once: no redirect
            link = url_for("reseller.set_password", token=token, _external=True)
            flash(
                gettext("%(name)s is ready. Hand this link to its owner; it is shown only once.", name=account.name),
                "success",
            )
            form = SubAccountForm(formdata=None)
    filters = listing(current_actor(), accounts=False)
    query = sa.select(Account).where(Account.parent_id == reseller.id, Account.deleting_at.is_(None))
    if filters.q:
        query = query.where(matching(filters.q, Account.name))
    page = paginated(query.order_by(Account.name, Account.id))
    # Who one may log in as: e-mail and id are all the page needs of them (whole User objects cost 1 ms).
    # Their buttons' words too: three translated strings per owner in the template cost 1 ms a page.
    owners = defaultdict(list)
    reason, log_in, mail_link = (
        gettext("Reason to log in as %(email)s"),
        gettext("Log in as %(email)s"),
        gettext("E-mail %(email)s a link to set a new password"),
    )
    for owner in db.session.execute(
        sa.select(User.account_id, User.id, User.email)
        .where(User.account_id.in_([a.id for a in page.items]), User.active)
        .order_by(User.id)
    ):
        email = {"email": owner.email}
        owners[owner.account_id].append(Owner(owner.id, owner.email, reason % email, log_in % email, mail_link % email))
    # One line of text per account: a page of 50 accounts would otherwise render 350 template cells.
    # The words are translated once, not once per cell (350 lookups cost 10 ms).
    line = gettext("%(things)s: %(used)s / %(limit)s")
    words = {kind: str(text) for kind, text in LIMITS.items()}
    summary = {
        account_id: "; ".join(
            line % {"things": words[kind], "used": used, "limit": "∞" if limit is None else limit}
            for kind, (used, limit) in kinds.items()
        )
        for account_id, kinds in usage(page.items).items()
    }
    return render_template(
        "reseller/accounts.html",
        form=form,
        children=page.items,
        page=page,
        link=link,
        link_days=LINK_DAYS,
        usage=summary,
        owners=owners,
        listing=filters,
    )


@bp.route("/reseller/usage", endpoint="usage")
@access("reseller")
@user
@kept
def usage_page():
    """What each sub-account uses, as the servers measured it (a page of them, by name)."""
    reseller = _reseller()
    filters = listing(current_actor(), accounts=False)
    query = sa.select(Account).where(Account.parent_id == reseller.id, Account.deleting_at.is_(None))
    if filters.q:
        query = query.where(matching(filters.q, Account.name))
    page = paginated(query.order_by(Account.name, Account.id))
    return render_template(
        "reseller/usage.html", page=page, listing=filters, rows=sub_account_totals(current_actor(), list(page.items))
    )


@bp.route("/reseller/accounts/<int:account_id>/limits", methods=["GET", "POST"])
@access("reseller")
@user
def limits(account_id: int):
    account = sub_account(_reseller(), account_id)
    if account is None:
        abort(404)
    form = LimitsForm(data={kind: account.limit(kind) for kind in ALL_LIMITS})
    if form.validate_on_submit():
        with refusals(form):
            set_limits(current_actor(), account.id, {kind: getattr(form, kind).data for kind in ALL_LIMITS})
            return saved(gettext("Limits of %(name)s saved.", name=account.name), url_for(".accounts"))
    return render_template("reseller/limits.html", form=form, account=account)


@bp.route("/reseller/accounts/<int:account_id>/suspend", methods=["GET", "POST"])
@access("reseller")
@user
def suspend(account_id: int):
    """GET asks first, saying what stops; the POST suspends."""
    if request.method == "POST":
        return _suspend(account_id, True)
    account = sub_account(_reseller(), account_id)
    if account is None:
        abort(404)
    return render_template("reseller/suspend.html", account=account, stopping=suspension.following(account))


@bp.route("/reseller/accounts/<int:account_id>/resume", methods=["POST"])
@access("reseller")
@user
def resume(account_id: int):
    return _suspend(account_id, False)


def _suspend(account_id: int, suspended: bool):
    _reseller()
    if SwitchForm().validate_on_submit():  # just the CSRF check
        account, count = suspend_sub_account(current_actor(), account_id, suspended)
        return saved(suspension.done(account, suspended, count), url_for(".accounts"))
    return redirect(url_for(".accounts"))


@bp.route("/reseller/accounts/<int:account_id>/delete", methods=["GET", "POST"])
@access("reseller")
@user
@not_while_impersonating
def delete(account_id: int):
    account = sub_account(_reseller(), account_id)
    if account is None:
        abort(404)
    form = SwitchForm()
    if account.deleting_at is None and form.validate_on_submit():
        delete_sub_account(current_actor(), account.id)
        return saved(
            gettext("%(name)s is being removed from the servers.", name=account.name),
            url_for(".delete", account_id=account.id),
        )
    remaining = remaining_services(account)
    return render_template(
        "reseller/delete.html", account=account, form=form, remaining=remaining, left=sum(n for _, n in remaining)
    )


@bp.route("/reseller/logins/<int:subject_id>/password-link", methods=["POST"])
@access("reseller")
@user
def password_link(subject_id: int):
    """E-mail the owner of one of the reseller's sub-accounts a set-password link (404 for anyone else's)."""
    _reseller()
    form = SwitchForm()  # just the CSRF check
    if form.validate_on_submit():
        with refusals(form):
            target = send_link_as_reseller(current_actor(), subject_id)
            return saved(
                gettext("A set-password link is on its way to %(email)s.", email=target.email), url_for(".accounts")
            )
    return redirect(url_for(".accounts"))


@bp.route("/reseller/switch-targets")
@access("reseller")
@user
def switch_targets():
    """The switcher's list (the frame fetches it when opened): the sub-accounts to act inside."""
    return jsonify(accounts=resellers.switch_targets(_reseller()))


@bp.route("/reseller/switch", methods=["POST"])
@access("reseller")
@user
def switch():
    """Act inside a sub-account (the same pages, its objects), or back in one's own with 0."""
    reseller = _reseller()
    form = SwitchForm()
    if form.validate_on_submit():
        target = form.account_id.data or 0
        if target == 0:
            session.pop(ACTING, None)
            flash(gettext("Back in your own account."), "info")
            return redirect(url_for("dashboard.index"))
        account = sub_account(reseller, target)
        if account is None:
            abort(404)
        session[ACTING] = target
        audit(current_actor(), "account.act_inside", account_id=target)
        return saved(gettext("You are acting inside %(name)s.", name=account.name), url_for("dashboard.index"), "info")
    return redirect(url_for("dashboard.index"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    # A POST holds the login's row: of two uses at once, the second sees the new hash and is refused.
    owner = user_for_token(token, lock=request.method == "POST")
    if owner is None:
        return render_template(
            "errors/error.html",
            code=404,
            title=gettext("Link used or expired"),
            message=gettext("This link was already used or has expired. Ask for a new one."),
        ), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        with refusals(form):
            refuse_weak_password(form.password.data, *user_names(owner))
            owner.password_hash = hash_password(form.password.data)
            sessions.end_others(owner, keep=None)
            audit(None, "user.password", obj=owner, account_id=owner.account_id, fields={"via": "set-password link"})
            return saved(gettext("Your password is set. Log in with it."), url_for("auth.login"))
    return render_template("reseller/set_password.html", form=form, email=owner.email)
