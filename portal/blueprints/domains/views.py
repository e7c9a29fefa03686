import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for

from portal.blueprints.common import confirm_delete, listing, paginated, refusals, saved, status_response
from portal.blueprints.domains.forms import CheckForm, DomainForm, RotateForm, VerifyForm
from portal.blueprints.kept import kept
from portal.blueprints.offers import not_served
from portal.extensions import db
from portal.models import Address, Domain, Mailbox
from portal.models.naming import named
from portal.orchestration import dkim_flow
from portal.orchestration.proof import lost_reason, proof_words, proven, record_name, token
from portal.orchestration.proving import held_elsewhere
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.dkim import rotate_domain_key
from portal.services.domains import (
    TooSoon,
    add_domain,
    check_domain,
    delete_domain,
    domain_usage,
    may_verify_by_hand,
    verify_for_sub_account,
)
from portal.services.usage import object_usage
from portal.words import gettext, lazy_gettext

bp = Blueprint("domains", __name__, url_prefix="/domains")


def _counts(model: type[Mailbox | Address], domain_ids: list[int]) -> dict[int, int]:
    query = sa.select(model.domain_id, sa.func.count()).where(model.domain_id.in_(domain_ids)).group_by(model.domain_id)
    return dict(db.session.execute(query).tuples().all())


@bp.route("/", methods=["GET", "POST"])
@customer
@kept
def index():
    actor = current_actor()
    form = DomainForm()
    # Said instead of the form: a domain is written to the mail server, and no server runs one yet.
    unserved = not_served(actor, "Domain", lazy_gettext("domains"))
    if not unserved and form.validate_on_submit():
        with refusals(form):
            domain = add_domain(actor, form.name.data)
            if not proven(domain):
                message = gettext("%(name)s is added. Prove it is yours with the TXT record below.", name=named(domain))
                return saved(message, url_for(".show", domain_id=domain.id))
            return saved(gettext("%(name)s is being set up.", name=named(domain)), url_for(".index"))
    filters = listing(actor)
    query = filters.narrow(scoped(Domain, actor).order_by(Domain.name), Domain, Domain.name)
    page = paginated(query, total=None if filters.filtered else actor.total("domains"))
    ids = [d.id for d in page.items]
    return render_template(
        "domains/index.html",
        form=form,
        unserved=unserved,
        domains=page.items,
        page=page,
        listing=filters,
        mailboxes=_counts(Mailbox, ids),
        addresses=_counts(Address, ids),
        proven=proven,
        lost={d.id for d in page.items if not proven(d) and held_elsewhere(d.name, d.account_id) is not None},
    )


@bp.route("/<int:domain_id>")
@customer
def show(domain_id: int):
    return _page(get_scoped_or_404(Domain, domain_id, current_actor()))


def _page(domain: Domain, status: int = 200, verify_form: VerifyForm | None = None):
    actor = current_actor()
    # Another account has proved the name (or one above or below it): this claim can only be deleted.
    holder = None if proven(domain) else held_elsewhere(domain.name, domain.account_id)
    return render_template(
        "domains/show.html",
        domain=domain,
        proven=proven(domain),
        lost=lost_reason(domain, holder) if holder is not None else "",
        record=(record_name(domain.name), "TXT", token(domain.account_id, domain.name)),
        check_form=CheckForm(),
        verify_form=(verify_form or VerifyForm()) if may_verify_by_hand(actor, domain) else None,
        dkim=dkim_flow.view(domain) if proven(domain) else None,
        rotate_form=RotateForm(),
        # Staff behind the customer (impersonating) see what the resolver said.
        staff=actor.real_user is not None and actor.real_user.is_staff,
        usage=object_usage(actor, Domain, domain.id),
    ), status


@bp.route("/<int:domain_id>/check", methods=["POST"])
@customer
def check(domain_id: int):
    form, back = CheckForm(), url_for(".show", domain_id=domain_id)
    if form.validate_on_submit():
        with refusals(form):
            try:
                handed_over = check_domain(current_actor(), domain_id)
            except TooSoon as refused:  # past a limit: 429, and the page says when to try again
                db.session.rollback()
                flash(refused.message, "warning")
                page, status = _page(get_scoped_or_404(Domain, domain_id, current_actor()), 429)
                return page, status, {"Retry-After": str(refused.retry_after)}
            if handed_over:
                return saved(gettext("Hostdeck is looking for the record; the result shows here in a moment."), back)
            domain = db.session.get(Domain, domain_id)
            found = domain is not None and proven(domain)
            words = proof_words(domain) if domain is not None else ""
            return saved(words, back, "success" if found else "warning")
    return redirect(back)


@bp.route("/<int:domain_id>/dkim/rotate", methods=["POST"])
@customer
def rotate_dkim(domain_id: int):
    """A new DKIM key: the old one signs until the new one is published, then stays published a while."""
    form, back = RotateForm(), url_for(".show", domain_id=domain_id)
    if form.validate_on_submit():
        with refusals(form):
            key = rotate_domain_key(current_actor(), domain_id)
            message = gettext("A new DKIM key (selector %(selector)s) is being made.", selector=key.selector)
            return saved(message, back)
    return redirect(back)


@bp.route("/<int:domain_id>/verify", methods=["POST"])
@customer
def verify(domain_id: int):
    """A reseller vouches for a domain of one of its sub-accounts."""
    form, back = VerifyForm(), url_for(".show", domain_id=domain_id)
    if form.validate_on_submit():
        with refusals(form):
            domain = verify_for_sub_account(current_actor(), domain_id, form.reason.data or "")
            return saved(gettext("%(name)s is verified and being set up.", name=named(domain)), back)
    if not form.is_submitted():
        return redirect(back)
    # Refused: the page again, the reason as typed and what to change at it.
    return _page(get_scoped_or_404(Domain, domain_id, current_actor()), 400, verify_form=form)


@bp.route("/<int:domain_id>/delete", methods=["GET", "POST"])
@customer
def delete(domain_id: int):
    return confirm_delete(
        Domain,
        domain_id,
        delete_domain,
        template="domains/delete.html",
        name="domain",
        done=lazy_gettext("%(name)s is being removed."),
        extra=lambda d: {"usage": domain_usage(d)},
    )


@bp.route("/status")
@customer
def status():
    return status_response(Domain)
