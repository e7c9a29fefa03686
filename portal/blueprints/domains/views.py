import sqlalchemy as sa
from flask import Blueprint, render_template, url_for

from portal.blueprints.common import confirm_delete, paginated, refusals, saved, status_response
from portal.blueprints.domains.forms import DomainForm
from portal.extensions import db
from portal.models import Address, Domain, Mailbox
from portal.security.roles import customer
from portal.security.scoping import current_actor, scoped
from portal.services.domains import add_domain, delete_domain, domain_usage

bp = Blueprint("domains", __name__, url_prefix="/domains")


def _counts(model: type[Mailbox | Address], domain_ids: list[int]) -> dict[int, int]:
    query = sa.select(model.domain_id, sa.func.count()).where(model.domain_id.in_(domain_ids)).group_by(model.domain_id)
    return dict(db.session.execute(query).tuples().all())


@bp.route("/", methods=["GET", "POST"])
@customer
def index():
    actor = current_actor()
    form = DomainForm()
    if form.validate_on_submit():
        with refusals(form):
            domain = add_domain(actor, form.name.data)
            return saved(f"{domain.display_name} is being set up.", url_for(".index"))
    page = paginated(scoped(Domain, actor).order_by(Domain.name), total=actor.total("domains"))
    ids = [d.id for d in page.items]
    return render_template(
        "domains/index.html",
        form=form,
        domains=page.items,
        page=page,
        mailboxes=_counts(Mailbox, ids),
        addresses=_counts(Address, ids),
    )


@bp.route("/<int:domain_id>/delete", methods=["GET", "POST"])
@customer
def delete(domain_id: int):
    return confirm_delete(
        Domain,
        domain_id,
        delete_domain,
        template="domains/delete.html",
        name="domain",
        done="{obj.display_name} is being removed.",
        extra=lambda d: {"usage": domain_usage(d)},
    )


@bp.route("/status")
@customer
def status():
    return status_response(Domain)
