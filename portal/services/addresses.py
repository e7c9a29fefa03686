"""Addresses: names on the account's domains that deliver to its mailboxes and forward elsewhere."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Status
from portal.models.validators import email_to_ascii, local_part_problem, shown
from portal.security.scoping import Actor, get_scoped_or_404, scoped
from portal.services import ServiceError, record, to_delete
from portal.services.domains import refuse_unproven
from portal.services.limits import reserve
from portal.services.text import plain_text
from portal.words import gettext

MAX_FORWARDS = 20


def clean_forwards(forwards: list[str]) -> list[str]:
    """Validated, de-duplicated addresses in the form Postfix gets: lowercase, the domain as A-labels
    (the one domain validator's, as for domains)."""
    cleaned: list[str] = []
    for raw in forwards:
        value = plain_text(raw, "forwards").strip()
        if not value:
            continue
        if any(c in value for c in ", ;"):
            raise ServiceError(
                gettext("%(value)s is not one e-mail address.", value=repr(shown(value))), field="forwards"
            )
        try:
            normalized = email_to_ascii(value)
        except ValueError as exc:
            raise ServiceError(str(exc), field="forwards") from exc
        local, _, domain = normalized.rpartition("@")
        ours = bool(db.session.scalar(sa.select(sa.exists().where(Domain.name == domain))))
        if ours and local_part_problem(local):  # our own names follow our own rules
            raise ServiceError(
                gettext("%(value)s: %(problem)s", value=shown(value), problem=local_part_problem(local)),
                field="forwards",
            )
        if normalized not in cleaned:
            cleaned.append(normalized)
    if len(cleaned) > MAX_FORWARDS:
        raise ServiceError(gettext("At most %(num)d forward addresses.", num=MAX_FORWARDS), field="forwards")
    return cleaned


def _own_mailboxes(actor: Actor, mailbox_ids: list[int]) -> list[Mailbox]:
    wanted = set(mailbox_ids)
    found = db.session.scalars(
        scoped(Mailbox, actor).where(Mailbox.id.in_(wanted), Mailbox.status != Status.DELETING)
    ).all()
    if len(found) != len(wanted):
        raise ServiceError(gettext("Choose only your own mailboxes."), field="mailbox_ids")
    return list(found)


def _address_by_key(key: str) -> Address | None:
    local, _, domain = key.partition("@")
    return db.session.scalars(
        sa.select(Address).join(Address.domain).where(Address.local_part == local, Domain.name == domain)
    ).first()


def _check_loops(key: str, forwards: list[str]) -> None:
    """Refuse forwards that lead back here, through any chain of our own addresses."""
    seen, todo = set(), list(forwards)
    while todo:
        target = todo.pop()
        if target == key:
            raise ServiceError(gettext("This would forward mail in a circle back to this address."), field="forwards")
        if target in seen:
            continue
        seen.add(target)
        found = _address_by_key(target)
        if found is not None:
            todo.extend(found.forwards or [])


def _validate(actor: Actor, key: str, mailboxes: list[Mailbox], forwards: list[str], domain: Domain) -> None:
    if not mailboxes and not forwards:
        raise ServiceError(gettext("Choose a mailbox or enter a forward address."), field="mailbox_ids")
    if any(m.account_id != domain.account_id for m in mailboxes):  # a reseller sees several accounts
        raise ServiceError(gettext("Choose only mailboxes of the domain's own account."), field="mailbox_ids")
    _check_loops(key, forwards)


def create_address(
    actor: Actor, *, local_part: str, catch_all: bool, domain_id: int, mailbox_ids: list[int], forwards: list[str]
) -> Address:
    local = "" if catch_all else local_part.lower()
    if not catch_all:
        problem = local_part_problem(local)
        if problem:
            raise ServiceError(problem, field="local_part")
    domain = db.session.scalars(scoped(Domain, actor).where(Domain.id == domain_id)).first()
    if domain is None:
        raise ServiceError(gettext("Choose one of your own domains."), field="domain_id")
    refuse_unproven(domain)
    mailboxes = _own_mailboxes(actor, mailbox_ids)
    cleaned = clean_forwards(forwards)
    key = f"{local}@{domain.name}"
    _validate(actor, key, mailboxes, cleaned, domain)
    if _address_by_key(key) is not None:
        if catch_all:
            taken = gettext("The catch-all for %(domain)s already exists.", domain=domain.display_name)
        else:
            taken = gettext("%(address)s already exists.", address=f"{local}@{domain.display_name}")
        raise ServiceError(taken, field="local_part")
    reserve(domain.account_id, "addresses")
    address = Address(
        account_id=domain.account_id,
        domain=domain,
        local_part=local,
        forwards=cleaned,
        mailboxes=mailboxes,
        status=Status.PENDING,
    )
    db.session.add(address)
    db.session.flush()
    record(address, "save", actor)
    return address


def update_address(actor: Actor, address_id: int, *, mailbox_ids: list[int], forwards: list[str]) -> Address:
    address = get_scoped_or_404(Address, address_id, actor)
    if address.status == Status.DELETING:
        raise ServiceError(gettext("This address is being deleted."))
    mailboxes = _own_mailboxes(actor, mailbox_ids)
    cleaned = clean_forwards(forwards)
    _validate(actor, address.key, mailboxes, cleaned, address.domain)
    address.mailboxes, address.forwards = mailboxes, cleaned
    address.status, address.last_error = Status.PENDING, None
    record(address, "save", actor)
    return address


def delete_address(actor: Actor, address_id: int) -> Address:
    return to_delete(get_scoped_or_404(Address, address_id, actor), actor)
