from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.blueprints.common import (
    confirm_delete,
    domain_choices,
    listing,
    paginated,
    refusals,
    saved,
    status_response,
)
from portal.blueprints.forms import Form
from portal.blueprints.kept import kept
from portal.blueprints.offers import has_proved_domain, not_served, waiting_domains
from portal.blueprints.websites.forms import WebsiteForm
from portal.extensions import db
from portal.models import CertState, Status, WebApp, Website
from portal.models.naming import named
from portal.orchestration import certificates
from portal.orchestration.certificates_words import certificate_words
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.failures import viewer_is_staff
from portal.services.usage import object_usage
from portal.services.webapps import create_website, delete_website, retry_certificate, update_website
from portal.words import gettext, lazy_gettext

bp = Blueprint("websites", __name__, url_prefix="/websites")


@bp.route("/")
@customer
@kept
def index():
    actor = current_actor()
    filters = listing(actor)
    query = filters.narrow(scoped(Website, actor), Website, Website.name).order_by(Website.name, Website.id)
    page = paginated(query.options(selectinload(Website.domains), selectinload(Website.mounts)))
    return render_template("websites/index.html", sites=page.items, page=page, listing=filters)


def _mounts(form, apps: dict[str, int]) -> list[tuple[str, int]]:
    mounts = [("/", form.root_app.data)] if form.root_app.data else []
    for line in (form.more_mounts.data or "").splitlines():
        if line.strip():
            path, _, name = line.strip().partition(" ")
            if name.strip() not in apps:
                raise ServiceError(gettext("No web app called “%(name)s”.", name=name.strip()), field="more_mounts")
            mounts.append((path, apps[name.strip()]))
    return mounts


def _choices(form, actor) -> dict[str, int]:
    form.domain_ids.choices = domain_choices(actor)
    apps = db.session.scalars(scoped(WebApp, actor).where(WebApp.status != Status.DELETING).order_by(WebApp.name)).all()
    form.root_app.choices = [SelectChoice(0, gettext("None"))] + [
        SelectChoice(a.id, gettext("%(name)s (%(kind)s)", name=a.name, kind=a.kind)) for a in apps
    ]
    return {a.name: a.id for a in apps}


def _site(form, apps: dict[str, int]) -> dict[str, Any]:
    """What the form says the website is, as create_website() and update_website() take it."""
    return {
        "name": form.name.data,
        "domain_ids": form.domain_ids.data or [],
        "with_www": form.with_www.data,
        "wildcard": form.wildcard.data,
        "mounts": _mounts(form, apps),
        "tls_mode": form.tls_mode.data,
        "redirect_https": form.redirect_https.data,
        "hsts": form.hsts.data,
        "certificate": form.certificate.data or "",
        "key": form.key.data or "",
    }


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    unserved = not_served(actor, "Website", lazy_gettext("websites"))
    if unserved or not has_proved_domain(actor):
        waiting = [] if unserved else waiting_domains(actor)
        return render_template(
            "websites/form.html", form=None, website=None, unserved=unserved, has_domain=False, waiting=waiting
        )
    form = WebsiteForm()
    apps = _choices(form, actor)
    if form.validate_on_submit():
        with refusals(form):
            website = create_website(actor, **_site(form, apps))
            return saved(gettext("%(name)s is being set up.", name=named(website)), url_for(".index"))
    return render_template("websites/form.html", form=form, website=None, has_domain=True)


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
            "wildcard": website.wildcard,
            "root_app": root,
            "more_mounts": more,
            "tls_mode": website.tls_mode,
            "redirect_https": website.redirect_https,
            "hsts": website.hsts,
            "certificate": website.certificate,
        }
    )
    form.submit.label.text = gettext("Save")
    apps = _choices(form, actor)
    if form.validate_on_submit():
        with refusals(form):
            update_website(actor, website.id, **_site(form, apps))
            return saved(gettext("%(name)s is being updated.", name=named(website)), url_for(".index"))
    cert = certificates.of(website)
    return render_template(
        "websites/form.html",
        form=form,
        website=website,
        cert=cert,
        cert_words=certificate_words(cert) if cert is not None else "",
        retry_form=Form() if cert is not None and cert.state == CertState.FAILED else None,
        staff=viewer_is_staff(),
        usage=object_usage(actor, Website, website.id),
    )


@bp.route("/<int:website_id>/certificate/retry", methods=["POST"])
@customer
def retry_certificate_view(website_id: int):
    get_scoped_or_404(Website, website_id, current_actor())  # someone else's: 404, form or not
    back = url_for(".edit", website_id=website_id)
    if Form().validate_on_submit():
        try:
            website = retry_certificate(current_actor(), website_id)
        except ServiceError as refused:
            db.session.rollback()
            flash(refused.message, "warning")
            return redirect(back)
        return saved(gettext("Hostdeck orders the certificate of %(name)s again.", name=named(website)), back)
    return redirect(back)


@bp.route("/<int:website_id>/delete", methods=["GET", "POST"])
@customer
def delete(website_id: int):
    return confirm_delete(
        Website,
        website_id,
        delete_website,
        template="websites/delete.html",
        name="website",
        done=lazy_gettext("%(name)s is being removed."),
    )


@bp.route("/status")
@customer
def status():
    return status_response(Website)
