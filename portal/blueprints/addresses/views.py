from collections import defaultdict

import sqlalchemy as sa
from flask import Blueprint, render_template, url_for
from wtforms import SelectChoice

from portal.blueprints.addresses.forms import AddressForm, EditAddressForm
from portal.blueprints.common import (
    confirm_delete,
    domain_choices,
    listing,
    paginated,
    refusals,
    saved,
    status_response,
)
from portal.blueprints.kept import kept
from portal.blueprints.offers import has_proved_domain, not_served, waiting_domains
from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Status, address_mailbox
from portal.models.naming import named
from portal.models.validators import address_in_unicode, unicode_name
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404, scoped
from portal.services.addresses import create_address, delete_address, update_address
from portal.words import gettext, lazy_gettext

bp = Blueprint("addresses", __name__, url_prefix="/addresses")


def _mailbox_choices(form, actor, account_id: int | None = None) -> None:
    query = scoped(Mailbox, actor).where(Mailbox.status != Status.DELETING).order_by(Mailbox.local_part)
    if account_id is not None:
        query = query.where(Mailbox.account_id == account_id)
    form.mailbox_ids.choices = [SelectChoice(m.id, m.display) for m in db.session.scalars(query)]


@bp.route("/")
@customer
@kept
def index():
    actor = current_actor()
    filters = listing(actor)
    query = scoped(Address, actor).order_by(Address.local_part, Address.domain_id)  # see mailboxes.index
    if filters.q:
        query = query.join(Domain, Domain.id == Address.domain_id)
    query = filters.narrow(query, Address, Address.local_part + "@" + Domain.name)
    page = paginated(query, total=None if filters.filtered else actor.total("addresses"))
    # Where each delivers: mailbox names are all the page shows (Mailbox objects for 50 rows cost 1 ms).
    delivers = defaultdict(list)
    for address_id, local_part, domain in db.session.execute(
        sa.select(address_mailbox.c.address_id, Mailbox.local_part, Domain.name)
        .join(Mailbox, Mailbox.id == address_mailbox.c.mailbox_id)
        .join(Domain, Domain.id == Mailbox.domain_id)
        .where(
            address_mailbox.c.address_id.in_([a.id for a in page.items]),
            Mailbox.account_id.in_({a.account_id for a in page.items}),
        )  # never another's, even if linked
        .order_by(Mailbox.local_part)
    ):
        delivers[address_id].append(f"{local_part}@{unicode_name(domain)}")
    has_domains = bool(page.items) or filters.filtered or actor.total("domains") > 0
    return render_template(
        "addresses/index.html", page=page, delivers=delivers, listing=filters, has_domains=has_domains
    )


@bp.route("/new", methods=["GET", "POST"])
@customer
def create():
    actor = current_actor()
    unserved = not_served(actor, "Address", lazy_gettext("addresses"))
    if unserved or not has_proved_domain(actor):
        waiting = [] if unserved else waiting_domains(actor)
        return render_template(
            "addresses/form.html", form=None, address=None, unserved=unserved, has_domain=False, waiting=waiting
        )
    form = AddressForm()
    form.domain_id.choices = domain_choices(actor)
    _mailbox_choices(form, actor)
    if form.validate_on_submit():
        with refusals(form):
            address = create_address(
                actor,
                local_part=form.local_part.data or "",
                catch_all=form.catch_all.data,
                domain_id=form.domain_id.data,
                mailbox_ids=form.mailbox_ids.data or [],
                forwards=form.forward_list(),
            )
            return saved(gettext("%(name)s is being set up.", name=named(address)), url_for(".index"))
    return render_template("addresses/form.html", form=form, address=None, has_domain=True)


@bp.route("/<int:address_id>", methods=["GET", "POST"])
@customer
def edit(address_id: int):
    actor = current_actor()
    address = get_scoped_or_404(Address, address_id, actor)
    form = EditAddressForm(
        data={
            "mailbox_ids": [m.id for m in address.mailboxes],
            "forwards": "\n".join(map(address_in_unicode, address.forwards or [])),
        }
    )
    _mailbox_choices(form, actor, address.account_id)
    if form.validate_on_submit():
        with refusals(form):
            update_address(actor, address.id, mailbox_ids=form.mailbox_ids.data or [], forwards=form.forward_list())
            return saved(gettext("%(name)s is being updated.", name=named(address)), url_for(".index"))
    return render_template("addresses/form.html", form=form, address=address)


@bp.route("/<int:address_id>/delete", methods=["GET", "POST"])
@customer
def delete(address_id: int):
    return confirm_delete(
        Address,
        address_id,
        delete_address,
        template="addresses/delete.html",
        name="address",
        done=lazy_gettext("%(name)s is being deleted."),
    )


@bp.route("/status")
@customer
def status():
    return status_response(Address)
