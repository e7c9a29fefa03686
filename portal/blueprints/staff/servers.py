"""A server's page, for admins (they run the servers; staff read the list): its address, SSH login,
host key, settings, routes and incident, with forms to change each and to remove it. The rules, the
refusals and the audit trail are services/servers.py's, shared with `flask servers`.

Re-pinning takes two steps: the pasted key (a GET: nothing changes) opens a page with the old and new
fingerprints, whose POST pins the new key."""

from flask import redirect, render_template, request, url_for
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from portal.blueprints.common import fail_form, refusals, saved
from portal.blueprints.forms import Form, WholeNumberField
from portal.blueprints.staff.blueprint import bp
from portal.blueprints.staff.forms import ActionForm
from portal.extensions import db
from portal.models import Server
from portal.orchestration.backends import BACKENDS
from portal.orchestration.checks import Finding, check_server
from portal.security.roles import admin_required
from portal.security.scoping import current_actor
from portal.services import ServiceError
from portal.services.servers import (
    Repin,
    add_route,
    edit_server,
    fingerprint,
    history,
    removal_problem,
    remove_route,
    remove_server,
    repin,
    repin_preview,
    routed,
    settings_as_lines,
    settings_from_lines,
)
from portal.words import gettext, lazy_gettext, ngettext


class EditServerForm(Form):
    host = StringField(lazy_gettext("Address"), validators=[DataRequired()])
    port = WholeNumberField(lazy_gettext("SSH port"), validators=[InputRequired(), NumberRange(1, 65535)])
    ssh_user = StringField(lazy_gettext("SSH user"), validators=[DataRequired()])
    settings = TextAreaField(
        lazy_gettext("Settings"),
        description=lazy_gettext("One KEY=VALUE a line; remove a line to unset that setting."),
        render_kw={"rows": 8, "spellcheck": "false"},
    )
    submit = SubmitField(lazy_gettext("Save server"))


class ConfirmRepinForm(Form):
    new_key = HiddenField(validators=[DataRequired()])
    seen_fingerprint = HiddenField()
    submit = SubmitField(lazy_gettext("Pin the new key"))


class RouteForm(Form):
    backend = SelectField(lazy_gettext("Backend"), validators=[DataRequired()])
    submit = SubmitField(lazy_gettext("Route it here"))


def _server(server_id: int) -> Server:
    return db.get_or_404(Server, server_id)


def _page(
    server: Server,
    form: EditServerForm | None = None,
    route_form: RouteForm | None = None,
    findings: list[Finding] | None = None,
):
    if form is None:
        form = EditServerForm(
            data={
                "host": server.host,
                "port": server.port,
                "ssh_user": server.ssh_user,
                "settings": settings_as_lines(server.settings),
            }
        )
    route_form = route_form or RouteForm()
    route_form.backend.choices = [b for b in sorted(BACKENDS) if b not in routed(server)]
    return render_template(
        "staff/server.html",
        server=server,
        form=form,
        route_form=route_form,
        fingerprint=fingerprint(server.host_key),
        backends=routed(server),
        removal_problem=removal_problem(server),
        history=history(server),
        findings=findings,
    )


@bp.route("/servers/<int:server_id>")
@admin_required
def server(server_id: int):
    return _page(_server(server_id))


@bp.route("/servers/<int:server_id>/check", methods=["POST"])
@admin_required
def server_check(server_id: int):
    """Connect as an apply would and say what each routed backend finds there; nothing changes."""
    server = _server(server_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for(".server", server_id=server.id))
    return _page(server, findings=check_server(server))


@bp.route("/servers/<int:server_id>/edit", methods=["POST"])
@admin_required
def server_edit(server_id: int):
    server = _server(server_id)
    form = EditServerForm()
    if form.validate_on_submit():
        with refusals(form):
            changed = edit_server(
                current_actor(),
                server,
                host=form.host.data,
                port=form.port.data,
                ssh_user=form.ssh_user.data,
                settings=settings_from_lines(form.settings.data or ""),
            )
            message = (
                gettext("Server %(name)s saved.", name=server.name)
                if changed
                else gettext("Nothing to change on %(name)s.", name=server.name)
            )
            return saved(message, url_for(".server", server_id=server.id))
    return _page(server, form=form)


@bp.route("/servers/<int:server_id>/repin", methods=["GET", "POST"])
@admin_required
def server_repin(server_id: int):
    """GET ?host_key=: the fingerprints side by side (or what is wrong with the paste); POST: pin it."""
    server = _server(server_id)
    back = url_for(".server", server_id=server.id)
    form = ConfirmRepinForm()
    if request.method == "POST":
        if form.validate_on_submit():
            with refusals(form):
                pinned = repin(current_actor(), server, form.new_key.data, seen_fingerprint=form.seen_fingerprint.data)
                return saved(
                    gettext(
                        "The host key of %(name)s is re-pinned: %(fingerprint)s. Retry its failed logs, "
                        "or resync it, to apply what the old key held back.",
                        name=server.name,
                        fingerprint=pinned.new_fingerprint,
                    ),
                    back,
                )
        return redirect(back)
    pasted = request.args.get("host_key", "")
    change: Repin | None = None
    problem: str | None = None
    if pasted.strip():
        try:
            change = repin_preview(server, pasted)
        except ServiceError as error:
            problem = error.message
    if change is not None:
        form.new_key.data, form.seen_fingerprint.data = change.new_key, change.old_fingerprint
    return render_template(
        "staff/server_repin.html",
        server=server,
        change=change,
        problem=problem,
        pasted=pasted,
        form=form,
        fingerprint=fingerprint(server.host_key),
    )


@bp.route("/servers/<int:server_id>/route", methods=["POST"])
@admin_required
def server_route(server_id: int):
    server = _server(server_id)
    form = RouteForm()
    form.backend.choices = sorted(BACKENDS)
    if form.validate_on_submit():
        with refusals(form):
            add_route(current_actor(), server, form.backend.data)
            return saved(
                gettext(
                    "%(backend)s now runs on %(server)s. Resync the server to bring what exists already.",
                    backend=form.backend.data,
                    server=server.name,
                ),
                url_for(".server", server_id=server.id),
            )
    return _page(server, route_form=form)


@bp.route("/servers/<int:server_id>/unroute", methods=["POST"])
@admin_required
def server_unroute(server_id: int):
    server = _server(server_id)
    back = url_for(".server", server_id=server.id)
    form = ActionForm()
    backend = request.form.get("backend", "")
    if form.validate_on_submit():
        try:
            remove_route(current_actor(), server, backend)
        except ServiceError as error:
            fail_form(form, error)
            return redirect(back)
        return saved(
            gettext(
                "%(backend)s no longer runs on %(server)s. What it wrote there stays; new changes go elsewhere.",
                backend=backend,
                server=server.name,
            ),
            back,
        )
    return redirect(back)


@bp.route("/servers/<int:server_id>/remove", methods=["POST"])
@admin_required
def server_remove(server_id: int):
    server = _server(server_id)
    name = server.name
    form = ActionForm()
    if form.validate_on_submit():
        try:
            gone = remove_server(current_actor(), server)
        except ServiceError as error:
            fail_form(form, error)
            return redirect(url_for(".server", server_id=server_id))
        return saved(
            ngettext(
                "Server %(name)s removed, with its %(num)d backend log.",
                "Server %(name)s removed, with its %(num)d backend logs.",
                gone.logs,
                name=name,
            ),
            url_for(".servers"),
        )
    return redirect(url_for(".server", server_id=server_id))
