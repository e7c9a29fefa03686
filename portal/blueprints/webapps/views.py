from flask import Blueprint, render_template, url_for
from wtforms import SelectChoice

from portal.blueprints.common import confirm_delete, listing, paginated, refusals, saved, status_response
from portal.blueprints.kept import kept
from portal.blueprints.offers import not_served
from portal.blueprints.webapps.forms import WebAppForm, WebAppOptionsForm
from portal.extensions import db
from portal.models import Mount, Status, SystemUser, WebApp, Website
from portal.models.naming import named
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.usage import object_usage
from portal.services.webapps import create_web_app, delete_web_app, php_versions, update_web_app
from portal.words import gettext, lazy_gettext

bp = Blueprint("webapps", __name__, url_prefix="/webapps")


@bp.route("/")
@customer
@kept
def index():
    actor = current_actor()
    filters = listing(actor)
    query = filters.narrow(scoped(WebApp, actor).order_by(WebApp.name, WebApp.id), WebApp, WebApp.name)
    page = paginated(query, total=None if filters.filtered else actor.total("web_apps"))
    # The empty state says what to do first: a web app's files belong to a system user.
    has_users = bool(page.items) or filters.filtered or actor.total("system_users") > 0
    return render_template("webapps/index.html", apps=page.items, page=page, listing=filters, has_users=has_users)


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    unserved = not_served(actor, "WebApp", lazy_gettext("web apps"))
    if unserved:
        return render_template("webapps/form.html", form=None, app=None, unserved=unserved)
    form = WebAppForm()
    form.system_user_id.choices = [
        SelectChoice(u.id, u.name)
        for u in db.session.scalars(
            scoped(SystemUser, actor).where(SystemUser.status != Status.DELETING).order_by(SystemUser.name)
        )
    ]
    form.php_version.choices = [SelectChoice(v, f"PHP {v}") for v in php_versions()]
    if form.validate_on_submit():
        with refusals(form):
            app = create_web_app(
                actor,
                name=form.name.data,
                system_user_id=form.system_user_id.data,
                kind=form.kind.data,
                php_version=form.php_version.data,
                options=form.option_values(),
            )
            return saved(gettext("%(name)s is being set up.", name=named(app)), url_for(".index"))
    return render_template("webapps/form.html", form=form, app=None)


@bp.route("/<int:app_id>", methods=["GET", "POST"])
@customer
def edit(app_id: int):
    actor = current_actor()
    app = get_scoped_or_404(WebApp, app_id, actor)
    values = {k.replace(".", "_"): v for k, v in (app.options or {}).items()}
    values["display_errors"] = values.get("display_errors") == "On"
    form = WebAppOptionsForm(data=values)
    if form.validate_on_submit():
        with refusals(form):
            update_web_app(actor, app.id, options=form.option_values())
            return saved(gettext("%(name)s is being updated.", name=named(app)), url_for(".index"))
    return render_template("webapps/form.html", form=form, app=app, usage=object_usage(actor, WebApp, app.id))


@bp.route("/<int:app_id>/delete", methods=["GET", "POST"])
@customer
def delete(app_id: int):
    return confirm_delete(
        WebApp,
        app_id,
        delete_web_app,
        template="webapps/delete.html",
        name="app",
        extra=lambda app: {
            "sites": db.session.scalars(
                scoped(Website, current_actor())
                .join(Mount)
                .where(Mount.web_app_id == app.id)
                .order_by(Website.name)
                .distinct()
            ).all()
        },
        done=lazy_gettext("%(name)s is being deleted, with its files."),
    )


@bp.route("/status")
@customer
def status():
    return status_response(WebApp)
