from flask import Blueprint, redirect, render_template, url_for

from portal.blueprints.common import DeleteForm, refusals, saved, status_response
from portal.blueprints.dns.forms import DmarcForm, DnssecForm, EditRecordForm, RecordForm
from portal.extensions import db
from portal.models import Domain, Status
from portal.models.dns import DnsRecord
from portal.orchestration import zones
from portal.orchestration.proof import proven, waiting_reason
from portal.security.roles import customer
from portal.security.scoping import current_actor, get_scoped_or_404
from portal.services.dns import (
    add_record,
    delete_record,
    edit_record,
    records_in,
    set_dmarc_reports,
    set_dnssec,
    zone_limit,
)
from portal.services.dns_values import typed_value
from portal.words import gettext

bp = Blueprint("dns", __name__)


def _describe_name(form: RecordForm, domain: Domain) -> None:
    form.name.description = gettext(
        "www, or the full name www.%(zone)s; @ or empty for %(zone)s itself.", zone=domain.display_name
    )


@bp.route("/domains/<int:domain_id>/zone", methods=["GET", "POST"])
@customer
def zone(domain_id: int):
    actor = current_actor()
    domain = get_scoped_or_404(Domain, domain_id, actor)
    form = RecordForm()
    _describe_name(form, domain)
    if form.validate_on_submit():
        with refusals(form):
            row = add_record(
                actor,
                domain.id,
                name=form.name.data or "",
                rtype=form.rtype.data or "",
                ttl=form.ttl.data,
                value=form.value.data or "",
            )
            message = gettext("%(name)s %(type)s is being published.", name=row.name, type=row.rtype)
            return saved(message, url_for(".zone", domain_id=domain_id) + "#custom")
    return _page(domain, form)


def _page(domain: Domain, form: RecordForm, dmarc_form: DmarcForm | None = None, status: int = 200):
    ready = proven(domain) and domain.status != Status.DELETING
    published = zones.published(domain) if ready else []
    return render_template(
        "dns/zone.html",
        domain=domain,
        ready=ready,
        waiting=waiting_reason(domain) if not proven(domain) else "",
        published=published,
        nameservers=[p.value for p in published if p.rtype == "NS" and p.name == "@"],
        records=zones.custom(domain) if ready else [],
        limit=zone_limit(domain),
        used=records_in(domain),
        form=form,
        dnssec_form=DnssecForm(data={"dnssec": "off" if domain.dnssec else "on"}),
        dmarc_form=dmarc_form or DmarcForm(data={"address": domain.dmarc_reports}),
    ), status


@bp.route("/domains/<int:domain_id>/zone/dnssec", methods=["POST"])
@customer
def dnssec(domain_id: int):
    actor = current_actor()
    domain = get_scoped_or_404(Domain, domain_id, actor)
    form, back = DnssecForm(), url_for(".zone", domain_id=domain_id) + "#dnssec"
    if form.validate_on_submit():
        with refusals(form):
            on = form.dnssec.data == "on"
            set_dnssec(actor, domain.id, on)
            name = domain.display_name
            if on:
                message = gettext(
                    "%(name)s is being signed. The DS record to give the registrar shows here soon.", name=name
                )
            else:
                message = gettext("%(name)s is no longer signed.", name=name)
            return saved(message, back)
    return redirect(back)


@bp.route("/domains/<int:domain_id>/zone/dmarc", methods=["POST"])
@customer
def dmarc(domain_id: int):
    actor = current_actor()
    domain = get_scoped_or_404(Domain, domain_id, actor)
    form = DmarcForm()
    if form.validate_on_submit():
        with refusals(form):
            set_dmarc_reports(actor, domain.id, form.address.data or "")
            return saved(gettext("DMARC reports address saved."), url_for(".zone", domain_id=domain_id) + "#dmarc")
    record_form = RecordForm(formdata=None)
    _describe_name(record_form, domain)
    return _page(db.session.get(Domain, domain.id) or domain, record_form, form, 400)


@bp.route("/dns/records/<int:record_id>", methods=["GET", "POST"])
@customer
def edit(record_id: int):
    actor = current_actor()
    row = get_scoped_or_404(DnsRecord, record_id, actor)
    form = EditRecordForm(
        data={"name": row.name, "rtype": row.rtype, "ttl": row.ttl, "value": typed_value(row.rtype, row.value)}
    )
    _describe_name(form, row.domain)
    if form.validate_on_submit():
        with refusals(form):
            edit_record(
                actor,
                row.id,
                name=form.name.data or "",
                rtype=form.rtype.data or "",
                ttl=form.ttl.data,
                value=form.value.data or "",
            )
            message = gettext("%(name)s %(type)s is being published.", name=form.name.data or "@", type=form.rtype.data)
            return saved(message, url_for(".zone", domain_id=row.domain_id) + "#custom")
    return render_template("dns/edit.html", form=form, record=row, domain=row.domain)


@bp.route("/dns/records/<int:record_id>/delete", methods=["GET", "POST"])
@customer
def delete(record_id: int):
    """common.confirm_delete(), except that it goes back to the record's own zone."""
    actor = current_actor()
    row = get_scoped_or_404(DnsRecord, record_id, actor)
    form = DeleteForm()
    if form.validate_on_submit():
        message = gettext("%(name)s %(type)s is being removed from the zone.", name=row.name, type=row.rtype)
        back = url_for(".zone", domain_id=row.domain_id) + "#custom"
        with refusals(form):
            delete_record(actor, row.id)
            return saved(message, back)
    return render_template("dns/delete.html", form=form, record=row, domain=row.domain)


@bp.route("/dns/records/status")
@customer
def status():
    return status_response(DnsRecord)
