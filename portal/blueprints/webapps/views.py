from flask import Blueprint, render_template, url_for
from wtforms import SelectChoice

from portal.blueprints.common import confirm_delete, paginated, refusals, saved, status_response
from portal.blueprints.webapps.forms import WebAppForm, WebAppOptionsForm
from portal.extensions import db
from portal.models import Status, SystemUser, WebApp
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.webapps import create_web_app, delete_web_app, php_versions, update_web_app

bp = Blueprint("webapps", __name__, url_prefix="/webapps")


@bp.route("/")
@customer
def index():
    actor = current_actor()
    page = paginated(scoped(WebApp, actor).order_by(WebApp.name, WebApp.id), total=actor.total("web_apps"))
    return render_template("webapps/index.html", apps=page.items, page=page)


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
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
            return saved(f"{app.name} is being set up.", url_for(".index"))
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
            return saved(f"{app.name} is being updated.", url_for(".index"))
    return render_template("webapps/form.html", form=form, app=app)


@bp.route("/<int:app_id>/delete", methods=["GET", "POST"])
@customer
def delete(app_id: int):
    return confirm_delete(
        WebApp,
        app_id,
        delete_web_app,
        template="webapps/delete.html",
        name="app",
        done="{obj.name} is being deleted, with its files.",
    )


@bp.route("/status")
@customer
def status():
    return status_response(WebApp)
