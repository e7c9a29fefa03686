from collections.abc import Callable

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.blueprints import suspension
from portal.blueprints.common import listing, matching, paginated, refusals, saved
from portal.blueprints.staff.blueprint import bp
from portal.blueprints.staff.forms import ActionForm, LogFilterForm
from portal.extensions import db
from portal.models import Account, BackendLog, Operation, Server, User
from portal.security.roles import is_admin, staff_required
from portal.security.scoping import console, current_actor
from portal.services.orchestration import resync_server, retry_log
from portal.services.resellers import set_suspended
from portal.words import gettext, ngettext


@bp.route("/logs")
@staff_required
def logs():
    servers = db.session.scalars(sa.select(Server).order_by(Server.name)).all()
    form = LogFilterForm(request.args)
    form.server.choices = [SelectChoice("", gettext("Any server"))] + [SelectChoice(str(s.id), s.name) for s in servers]
    filters = listing(current_actor(), accounts=False, keep=("server", "state", "account"))
    query = console(BackendLog, current_actor()).options(selectinload(BackendLog.server)).order_by(BackendLog.id.desc())
    if filters.q:
        query = query.where(matching(filters.q, BackendLog.backends, BackendLog.error))
    if form.validate():
        if form.server.data:
            query = query.where(BackendLog.server_id == int(form.server.data))
        if form.state.data:
            query = query.where(BackendLog.state == form.state.data)
        if form.account.data:
            query = query.where(
                BackendLog.id.in_(sa.select(Operation.backend_log_id).where(Operation.account_id == form.account.data))
            )
    page = paginated(query, per_page=50)
    return render_template("staff/logs.html", page=page, form=form, servers=servers, listing=filters)


@bp.route("/logs/<int:log_id>")
@staff_required
def log_detail(log_id: int):
    actor = current_actor()
    entry = db.first_or_404(console(BackendLog, actor).where(BackendLog.id == log_id))
    ops = db.session.scalars(
        console(Operation, actor).where(Operation.backend_log_id == entry.id).order_by(Operation.id)
    ).all()
    ids = {i for pair in entry.actors for i in pair if i is not None}
    people = {u.id: u for u in db.session.scalars(console(User, actor).where(User.id.in_(ids)))}
    return render_template("staff/log.html", entry=entry, ops=ops, people=people)


def _act(action, object_id: int, done: Callable[[int], str], back: str):
    """Run a staff action from a CSRF-checked POST; flash the outcome (done(count)) or the refusal, and
    go back."""
    form = ActionForm()
    if form.validate_on_submit():
        with refusals(form):
            count = action(current_actor(), object_id)
            return saved(done(count), back)
    return redirect(back)


@bp.route("/logs/<int:log_id>/retry", methods=["POST"])
@staff_required
def retry(log_id: int):
    def done(count: int) -> str:
        return ngettext(
            "%(num)d object is being applied again with its current state.",
            "%(num)d objects are being applied again with their current state.",
            count,
        )

    return _act(retry_log, log_id, done, url_for(".log_detail", log_id=log_id))


@bp.route("/servers")
@staff_required
def servers():
    filters = listing(current_actor(), accounts=False)
    query = sa.select(Server).order_by(Server.name)
    if filters.q:
        query = query.where(matching(filters.q, Server.name, Server.host))
    rows = db.session.scalars(query).all()
    return render_template("staff/servers.html", servers=rows, listing=filters, admin=is_admin())


@bp.route("/servers/<int:server_id>/resync", methods=["POST"])
@staff_required
def resync(server_id: int):
    def done(count: int) -> str:
        return ngettext("%(num)d object is being applied again.", "%(num)d objects are being applied again.", count)

    return _act(resync_server, server_id, done, url_for(".servers"))


@bp.route("/accounts/<int:account_id>/suspend", methods=["GET", "POST"])
@staff_required
def suspend(account_id: int):
    """GET asks first, saying what stops; the POST suspends."""
    return _suspend(account_id, True)


@bp.route("/accounts/<int:account_id>/resume", methods=["GET", "POST"])
@staff_required
def resume(account_id: int):
    """GET asks first, saying what starts again; the POST resumes."""
    return _suspend(account_id, False)


def _suspend(account_id: int, suspended: bool):
    account = db.first_or_404(console(Account, current_actor()).where(Account.id == account_id))
    back = url_for(".account", account_id=account.id)
    if request.method == "POST":
        # Only a change: nothing to do for an account already so, nor for one being deleted.
        changes = account.active == suspended and account.deleting_at is None
        if ActionForm().validate_on_submit() and changes:
            count = set_suspended(current_actor(), account, suspended)
            return saved(suspension.done(account, suspended, count), back)
        return redirect(back)
    children = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Account)
        .where(Account.parent_id == account.id, Account.deleting_at.is_(None))
    )
    # A reseller's own logins stop; its sub-accounts are accounts of their own.
    note = (
        ngettext(
            "Its %(num)d sub-account keeps running: suspend it on its own page.",
            "Its %(num)d sub-accounts keep running: suspend each on its own page.",
            children,
        )
        if suspended and children
        else ""
    )
    return render_template(
        "staff/suspend.html",
        account=account,
        following=suspension.following(account, suspended),
        suspending=suspended,
        back=back,
        note=note,
    )
