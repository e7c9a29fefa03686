from flask import Blueprint, render_template, url_for

from portal.blueprints.common import confirm_delete, listing, paginated, refusals, saved, status_response
from portal.blueprints.kept import kept
from portal.blueprints.offers import not_served
from portal.blueprints.system_users.forms import SystemUserForm, UserPasswordForm, UserSettingsForm
from portal.extensions import db
from portal.models import SystemUser, WebApp
from portal.models.naming import named
from portal.orchestration.operations import password_lost
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.system_users import (
    change_system_user_password,
    create_system_user,
    delete_system_user,
    keys_of,
    update_system_user,
)
from portal.services.usage import object_usage
from portal.words import gettext, lazy_gettext

bp = Blueprint("system_users", __name__, url_prefix="/system-users")


@bp.route("/")
@customer
@kept
def index():
    actor = current_actor()
    filters = listing(actor)
    query = filters.narrow(scoped(SystemUser, actor).order_by(SystemUser.name), SystemUser, SystemUser.name)
    page = paginated(query, total=None if filters.filtered else actor.total("system_users"))
    return render_template("system_users/index.html", page=page, listing=filters)


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    unserved = not_served(actor, "SystemUser", lazy_gettext("system users"))
    if unserved:
        return render_template("system_users/new.html", form=None, unserved=unserved)
    form = SystemUserForm()
    if form.validate_on_submit():
        with refusals(form):
            user = create_system_user(
                actor,
                name=form.name.data,
                password=form.password.data,
                shell=form.shell.data,
                ssh_keys=form.ssh_keys.data or "",
            )
            return saved(gettext("%(name)s is being set up.", name=named(user)), url_for(".show", user_id=user.id))
    account_prefix = actor.account.assigned_prefix() if actor.account else ""
    return render_template("system_users/new.html", form=form, prefix=account_prefix)


def _page(user, password_form=None, settings_form=None, status=200):
    settings_form = settings_form or UserSettingsForm(data={"shell": user.shell, "ssh_keys": user.ssh_keys})
    return render_template(
        "system_users/show.html",
        user=user,
        keys=keys_of(user),
        form=password_form or UserPasswordForm(),
        settings=settings_form,
        password_lost=password_lost(user),
        usage=object_usage(current_actor(), SystemUser, user.id),
    ), status


@bp.route("/<int:user_id>")
@customer
def show(user_id: int):
    return _page(get_scoped_or_404(SystemUser, user_id, current_actor()))


@bp.route("/<int:user_id>/password", methods=["POST"])
@customer
def password(user_id: int):
    actor = current_actor()
    user = get_scoped_or_404(SystemUser, user_id, actor)
    form = UserPasswordForm()
    if form.validate_on_submit():
        with refusals(form):
            change_system_user_password(actor, user.id, form.password.data)
            return saved(
                gettext("The new password for %(name)s is being applied.", name=named(user)),
                url_for(".show", user_id=user.id),
            )
    return _page(user, password_form=form, status=400)


@bp.route("/<int:user_id>/settings", methods=["POST"])
@customer
def settings(user_id: int):
    actor = current_actor()
    user = get_scoped_or_404(SystemUser, user_id, actor)
    form = UserSettingsForm()
    if form.validate_on_submit():
        with refusals(form):
            update_system_user(actor, user.id, shell=form.shell.data, ssh_keys=form.ssh_keys.data or "")
            return saved(gettext("%(name)s is being updated.", name=named(user)), url_for(".show", user_id=user.id))
    return _page(user, settings_form=form, status=400)


@bp.route("/<int:user_id>/delete", methods=["GET", "POST"])
@customer
def delete(user_id: int):
    return confirm_delete(
        SystemUser,
        user_id,
        delete_system_user,
        template="system_users/delete.html",
        name="user",
        extra=lambda user: {
            "apps": db.session.scalars(
                scoped(WebApp, current_actor()).where(WebApp.system_user_id == user.id).order_by(WebApp.name)
            ).all()
        },
        done=lazy_gettext("%(name)s is being deleted, with its files."),
    )


@bp.route("/status")
@customer
def status():
    return status_response(SystemUser)
