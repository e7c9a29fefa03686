"""A domain's zone as its customer changes it: custom records (checked by services/dns_values.py, then
against the zone: a CNAME stands alone, the names Hostdeck publishes stay its own), DNSSEC on or off,
and where DMARC reports go. Only verified domains have a zone."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Status
from portal.models.dns import DnsRecord
from portal.models.usage import lock
from portal.models.validators import email_to_ascii
from portal.orchestration import zones
from portal.orchestration.republish import republish
from portal.security.audit import audit
from portal.security.scoping import Actor, get_scoped_or_404
from portal.services import ServiceError, record, to_delete
from portal.services.dns_values import Cleaned, clean, reserved_problem
from portal.services.domains import refuse_unproven
from portal.services.text import plain_text
from portal.words import gettext, ngettext

# Published types a customer's record of the same type would contradict (two answers for the website's
# address, a second mail route); TXT and CAA add to what is published, except where noted below.
SOLE_TYPES = ("A", "AAAA", "MX", "CNAME", "NS")
# Published TXT a second one at the same name would break (two DMARC or verification records).
SOLE_TXT_SOURCES = ("dmarc", "dkim", "proof", "acme")


def _zone_domain(actor: Actor, domain_id: int) -> Domain:
    domain = get_scoped_or_404(Domain, domain_id, actor)
    if domain.status == Status.DELETING:
        raise ServiceError(gettext("%(name)s is being deleted.", name=domain.display_name))
    refuse_unproven(domain, field="")
    return domain


def add_record(actor: Actor, domain_id: int, *, name: str, rtype: str, ttl: int | None, value: str) -> DnsRecord:
    domain = _zone_domain(actor, domain_id)
    cleaned = clean(domain.name, name, rtype, ttl, value)
    _refuse_over_limit(domain)  # locks the account row first: two adds at once count each other
    _refuse_clash(domain, cleaned, None)
    row = DnsRecord(
        account_id=domain.account_id,
        domain=domain,
        name=cleaned.name,
        rtype=cleaned.rtype,
        ttl=cleaned.ttl,
        value=cleaned.value,
        status=Status.PENDING,
    )
    db.session.add(row)
    db.session.flush()
    record(row, "save", actor)
    return row


def edit_record(actor: Actor, record_id: int, *, name: str, rtype: str, ttl: int | None, value: str) -> DnsRecord:
    row = get_scoped_or_404(DnsRecord, record_id, actor)
    if row.status == Status.DELETING:
        raise ServiceError(gettext("This record is being deleted."))
    domain = _zone_domain(actor, row.domain_id)
    cleaned = clean(domain.name, name, rtype, ttl, value)
    lock(db.session, [domain.account_id])  # the same order as an add: account row, then the records
    _refuse_clash(domain, cleaned, row.id)
    row.name, row.rtype, row.ttl, row.value = cleaned.name, cleaned.rtype, cleaned.ttl, cleaned.value
    row.status, row.last_error = Status.PENDING, None
    record(row, "save", actor)
    return row


def delete_record(actor: Actor, record_id: int) -> DnsRecord:
    row = get_scoped_or_404(DnsRecord, record_id, actor)
    if row.status == Status.DELETING:
        raise ServiceError(gettext("This record is being deleted."))
    return to_delete(row, actor)


def zone_limit(domain: Domain) -> int | None:
    """The fewest records per zone the account's plan or its reseller's allows (None: no limit)."""
    account = domain.account
    limits = [a.max_records_per_zone for a in (account, account.parent) if a is not None]
    return min((n for n in limits if n is not None), default=None)


def records_in(domain: Domain) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DnsRecord)
            .where(DnsRecord.domain_id == domain.id, DnsRecord.status != Status.DELETING)
        )
        or 0
    )


def _refuse_over_limit(domain: Domain) -> None:
    [account] = lock(db.session, [domain.account_id], load=True)
    if account.parent is not None and account.parent.max_records_per_zone is not None:
        lock(db.session, [account.parent.id])
    limit = zone_limit(domain)
    if limit is None:
        return
    n = records_in(domain)
    if n + 1 > limit:
        raise ServiceError(
            ngettext(
                "The plan allows %(num)d custom record per zone, and %(name)s has %(has)d. Delete one you "
                "no longer need, or ask for a bigger plan.",
                "The plan allows %(num)d custom records per zone, and %(name)s has %(has)d. Delete one you "
                "no longer need, or ask for a bigger plan.",
                limit,
                name=domain.display_name,
                has=n,
            )
        )


def _shown_name(domain: Domain, name: str) -> str:
    return domain.display_name if name == "@" else f"{name}.{domain.display_name}"


def _refuse_clash(domain: Domain, new: Cleaned, editing: int | None) -> None:
    """What the zone cannot hold beside what is there: a CNAME with anything, a record Hostdeck
    publishes itself, the same record twice, data at or below a delegated name."""
    where = _shown_name(domain, new.name)
    problem = reserved_problem(new.name)
    if problem:
        raise ServiceError(problem, field="name")
    if new.rtype == "CNAME" and new.name == "@":
        raise ServiceError(
            gettext(
                "%(name)s itself cannot be a CNAME: the zone's own records live there. Use an A or AAAA record.",
                name=domain.display_name,
            ),
            field="rtype",
        )
    if new.rtype == "NS" and new.name == "@":
        raise ServiceError(
            gettext(
                "The name servers of %(name)s are Hostdeck's own. NS records delegate a subdomain, such as dev.",
                name=domain.display_name,
            ),
            field="name",
        )
    for p in zones.published(domain):
        why = p.words
        if p.rtype == "NS" and p.name != "@" and (new.name == p.name or new.name.endswith(f".{p.name}")):
            raise ServiceError(
                gettext(
                    "%(name)s has a zone of its own (%(why)s): add the record there.",
                    name=_shown_name(domain, p.name),
                    why=why,
                ),
                field="name",
            )
        if p.name != new.name:
            continue
        if (p.rtype, p.value) == (new.rtype, new.value):
            raise ServiceError(
                gettext("Hostdeck publishes this record at %(name)s already (%(why)s).", name=where, why=why),
                field="value",
            )
        if new.rtype == "CNAME" or p.rtype == "CNAME":
            raise ServiceError(
                gettext(
                    "Hostdeck publishes a %(type)s record at %(name)s (%(why)s): a CNAME cannot stand beside "
                    "other records.",
                    type=p.rtype,
                    name=where,
                    why=why,
                ),
                field="name",
            )
        if new.rtype == p.rtype and (
            new.rtype in SOLE_TYPES
            or (new.rtype == "TXT" and (p.source in SOLE_TXT_SOURCES or (_is_spf(new.value) and _is_spf(p.value))))
        ):
            raise ServiceError(
                gettext(
                    "Hostdeck publishes the %(type)s record at %(name)s itself (%(why)s).",
                    type=p.rtype,
                    name=where,
                    why=why,
                ),
                field="name",
            )
        if new.rtype == "NS":
            raise ServiceError(
                gettext(
                    "Hostdeck publishes records at %(name)s (%(why)s): it cannot be delegated.", name=where, why=why
                ),
                field="name",
            )
    for other in zones.custom(domain):
        if other.id == editing:
            continue
        if other.name == new.name:
            if (other.rtype, other.value) == (new.rtype, new.value):
                raise ServiceError(gettext("%(name)s has this record already.", name=where), field="value")
            if "CNAME" in (new.rtype, other.rtype):
                raise ServiceError(
                    gettext(
                        "%(name)s has a %(type)s record: a CNAME cannot stand beside other records.",
                        name=where,
                        type=other.rtype,
                    ),
                    field="name",
                )
            if "NS" in (new.rtype, other.rtype) and new.rtype != other.rtype:
                raise ServiceError(
                    gettext("%(name)s is delegated with NS records, which stand alone at their name.", name=where),
                    field="name",
                )
        below = new.name.endswith(f".{other.name}") and other.name != "@"
        above = other.name.endswith(f".{new.name}") and new.name != "@"
        if (below and other.rtype == "NS") or (above and new.rtype == "NS"):
            delegated = _shown_name(domain, other.name if below else new.name)
            raise ServiceError(
                gettext(
                    "%(name)s is delegated to other name servers: records below it are theirs to answer.",
                    name=delegated,
                ),
                field="name",
            )


def _is_spf(value: str) -> bool:
    return value.lower().startswith('"v=spf1')


def set_dnssec(actor: Actor, domain_id: int, on: bool) -> Domain:
    """Sign the zone (inline signing on the DNS server, which then says the DS records), or stop."""
    domain = _zone_domain(actor, domain_id)
    if domain.dnssec == on:
        return domain
    domain.dnssec = on
    if not on:
        domain.dnssec_ds = ""  # the registrar's DS must go first; the page says so
    audit(actor, "domain.edit", obj=domain, fields={"dnssec": on})
    republish([domain], actor=actor)  # the bind backend writes the zone again
    return domain


def set_dmarc_reports(actor: Actor, domain_id: int, address: str) -> Domain:
    """Where DMARC aggregate reports go (the rua= of the published record); empty: none."""
    domain = _zone_domain(actor, domain_id)
    text = plain_text(address, "address").strip()
    if text:
        try:
            text = email_to_ascii(text)
        except ValueError as exc:
            raise ServiceError(str(exc), field="address") from exc
    if len(text) > 254:
        raise ServiceError(gettext("An address has at most %(num)d characters.", num=254), field="address")
    if text == domain.dmarc_reports:
        return domain
    domain.dmarc_reports = text
    audit(actor, "domain.edit", obj=domain, fields={"dmarc_reports": text})
    republish([domain], actor=actor)  # the bind backend writes the zone again
    return domain
