from typing import Any

from flask import Blueprint, render_template, url_for
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.blueprints.common import confirm_delete, domain_choices, paginated, refusals, saved, status_response
from portal.blueprints.websites.forms import WebsiteForm
from portal.extensions import db
from portal.models import Status, WebApp, Website
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.webapps import create_website, delete_website, update_website

bp = Blueprint("websites", __name__, url_prefix="/websites")


@bp.route("/")
@customer
def index():
    page = paginated(
        scoped(Website, current_actor())
        .order_by(Website.name, Website.id)
        .options(selectinload(Website.domains), selectinload(Website.mounts))
    )
    return render_template("websites/index.html", sites=page.items, page=page)


def _mounts(form, apps: dict[str, int]) -> list[tuple[str, int]]:
    mounts = [("/", form.root_app.data)] if form.root_app.data else []
    for line in (form.more_mounts.data or "").splitlines():
        if line.strip():
            path, _, name = line.strip().partition(" ")
            if name.strip() not in apps:
                raise ServiceError(f"No web app called {name.strip()!r}.", field="more_mounts")
            mounts.append((path, apps[name.strip()]))
    return mounts


def _choices(form, actor) -> dict[str, int]:
    form.domain_ids.choices = domain_choices(actor)
    apps = db.session.scalars(scoped(WebApp, actor).where(WebApp.status != Status.DELETING).order_by(WebApp.name)).all()
    form.root_app.choices = [SelectChoice(0, "none")] + [SelectChoice(a.id, f"{a.name} ({a.kind})") for a in apps]
    return {a.name: a.id for a in apps}


def _site(form, apps: dict[str, int]) -> dict[str, Any]:
    """What the form says the website is, as create_website() and update_website() take it."""
    return {
        "name": form.name.data,
        "domain_ids": form.domain_ids.data or [],
        "with_www": form.with_www.data,
        "mounts": _mounts(form, apps),
        "https": form.https.data,
        "certificate": form.certificate.data or "",
        "key": form.key.data or "",
    }


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    form = WebsiteForm()
    apps = _choices(form, actor)
    if form.validate_on_submit():
        with refusals(form):
            website = create_website(actor, **_site(form, apps))
            return saved(f"{website.name} is being set up.", url_for(".index"))
    return render_template("websites/form.html", form=form, website=None)


@bp.route("/<int:website_id>", methods=["GET", "POST"])
@customer
def edit(website_id: int):
    actor = current_actor()
    website = get_scoped_or_404(Website, website_id, actor)
    root = next((m.web_app_id for m in website.mounts if m.path == "/"), 0)
    more = "\n".join(f"{m.path} {m.web_app.name}" for m in website.mounts if m.path != "/")
    form = WebsiteForm(
        data={
            "name": website.name,
            "domain_ids": [d.id for d in website.domains],
            "with_www": website.with_www,
            "root_app": root,
            "more_mounts": more,
            "https": website.https,
            "certificate": website.certificate,
        }
    )
    form.submit.label.text = "Save"
    apps = _choices(form, actor)
    if form.validate_on_submit():
        with refusals(form):
            update_website(actor, website.id, **_site(form, apps))
            return saved(f"{website.name} is being updated.", url_for(".index"))
    return render_template("websites/form.html", form=form, website=website)


@bp.route("/<int:website_id>/delete", methods=["GET", "POST"])
@customer
def delete(website_id: int):
    return confirm_delete(
        Website,
        website_id,
        delete_website,
        template="websites/delete.html",
        name="website",
        done="{obj.name} is being removed.",
    )


@bp.route("/status")
@customer
def status():
    return status_response(Website)
