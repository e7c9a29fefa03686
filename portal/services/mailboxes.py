"""Create, re-password and delete mailboxes; their vacation reply."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, Domain, Mailbox, Status
from portal.models.naming import named
from portal.models.validators import local_part_problem
from portal.security.audit import audit
from portal.security.scoping import Actor, get_scoped_or_404, scoped
from portal.security.strength import actor_names
from portal.services import ServiceError, record, refuse_weak_password, to_change, to_delete
from portal.services.domains import refuse_unproven
from portal.services.limits import reserve
from portal.services.text import plain_text
from portal.words import gettext

QUOTA_MIN_MB, QUOTA_MAX_MB = 10, 102400


def create_mailbox(
    actor: Actor, *, local_part: str, domain_id: int, password: str, quota_mb: int, with_address: bool = False
) -> Mailbox:
    """with_address: also make (or extend) the address of the same name, so mail to it arrives."""
    local_part = local_part.lower()
    problem = local_part_problem(local_part)
    if problem:
        raise ServiceError(problem, field="local_part")
    refuse_weak_password(password, *actor_names(actor), local_part)
    if not QUOTA_MIN_MB <= quota_mb <= QUOTA_MAX_MB:
        raise ServiceError(
            gettext("Quota must be between %(low)d and %(high)d MB.", low=QUOTA_MIN_MB, high=QUOTA_MAX_MB),
            field="quota_mb",
        )
    # The domain, and who already uses the name on it, in one query.
    found = db.session.execute(
        scoped(Domain, actor)
        .where(Domain.id == domain_id)
        .add_columns(
            sa.exists().where(Mailbox.domain_id == Domain.id, Mailbox.local_part == local_part),
            sa.select(Address.id)
            .where(Address.domain_id == Domain.id, Address.local_part == local_part)
            .scalar_subquery(),
        )
    ).first()
    if found is None:
        raise ServiceError(gettext("Choose one of your own domains."), field="domain_id")
    domain, taken, address_id = found
    refuse_unproven(domain)
    if taken:
        raise ServiceError(
            gettext("%(address)s already exists.", address=f"{local_part}@{named(domain)}"), field="local_part"
        )
    address = db.session.get(Address, address_id) if with_address and address_id is not None else None
    reserve(
        domain.account_id,
        {"mailboxes": 1, "quota_mb": quota_mb, "addresses": 1 if with_address and address is None else 0},
    )
    mailbox = Mailbox(
        account_id=domain.account_id, domain=domain, local_part=local_part, quota_mb=quota_mb, status=Status.PENDING
    )
    db.session.add(mailbox)
    own = _own_address(mailbox, address) if with_address else None
    db.session.flush()  # one flush for both: their ids, and one move of the usage counters
    if own is not None:
        record(own, "save", actor)
    record(mailbox, "save", actor, password)
    return mailbox


def _own_address(mailbox: Mailbox, address: Address | None) -> Address:
    """The address of the mailbox's own name: made (its limit already reserved), or extended."""
    if address is None:
        address = Address(
            account_id=mailbox.account_id,
            domain=mailbox.domain,
            local_part=mailbox.local_part,
            forwards=[],
            status=Status.PENDING,
        )
        db.session.add(address)
    elif address.status == Status.DELETING:
        raise ServiceError(
            gettext("%(address)s is still being deleted as an address; try again shortly.", address=named(mailbox))
        )
    address.mailboxes.append(mailbox)
    address.status = Status.PENDING
    return address


def change_mailbox_password(actor: Actor, mailbox_id: int, password: str) -> Mailbox:
    mailbox = to_change(Mailbox, mailbox_id, actor, gettext("This mailbox is being deleted."))
    refuse_weak_password(password, *actor_names(actor), mailbox.local_part)
    record(mailbox, "save", actor, password)
    return mailbox


def addresses_going_with(mailbox: Mailbox) -> tuple[list[Address], list[Address]]:
    """What delete_mailbox() does to the mailbox's addresses, for the page that asks first: those left
    with nowhere to deliver go with it; the others stay, delivering to their other mailboxes or forwards."""
    going: list[Address] = []
    staying: list[Address] = []
    for address in sorted(mailbox.addresses, key=lambda a: a.key):
        elsewhere = address.forwards or any(m.id != mailbox.id for m in address.mailboxes)
        (staying if elsewhere else going).append(address)
    return going, staying


def delete_mailbox(actor: Actor, mailbox_id: int) -> Mailbox:
    """Addresses stop delivering to it; one left with nowhere to deliver goes too."""
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    for address in list(mailbox.addresses):
        address.mailboxes.remove(mailbox)
        if not address.mailboxes and not address.forwards:
            to_delete(address, actor)
        else:
            address.status = Status.PENDING
            record(address, "save", actor)
    return to_delete(mailbox, actor)


AUTOREPLY_MAX = 5000


def set_autoreply(
    actor: Actor, mailbox_id: int, *, enabled: bool, subject: str, message: str, start: date | None, end: date | None
) -> Mailbox:
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    # Checked before strip(), which would quietly drop a U+2028 or U+0085 at either end.
    subject = plain_text(subject, "subject").strip()
    message = plain_text(message, "message", multiline=True).strip()
    if enabled and not message:
        raise ServiceError(gettext("Write the reply message."), field="message")
    if len(subject) > 200:
        raise ServiceError(gettext("Keep the subject under %(num)d characters.", num=200), field="subject")
    if len(message) > AUTOREPLY_MAX:
        raise ServiceError(gettext("Keep the message under %(num)d characters.", num=AUTOREPLY_MAX), field="message")
    if start and end and end < start:
        raise ServiceError(gettext("The end date comes before the start date."), field="end")
    if mailbox.status == Status.DELETING:
        raise ServiceError(gettext("This mailbox is being deleted."))
    mailbox.autoreply_enabled, mailbox.autoreply_subject, mailbox.autoreply_message = enabled, subject, message
    mailbox.autoreply_start, mailbox.autoreply_end = start, end
    mailbox.status, mailbox.last_error = Status.PENDING, None
    record(mailbox, "save", actor)
    return mailbox


def change_quota(actor: Actor, mailbox_id: int, quota_mb: int) -> Mailbox:
    """A new quota for a mailbox, applied by a save (the Dovecot backend writes it into the passwd-file
    line; the password on the server stays). Raising it takes from the account's mail quota, within
    its plan (and its reseller's); lowering it always may."""
    if not QUOTA_MIN_MB <= quota_mb <= QUOTA_MAX_MB:
        raise ServiceError(
            gettext("Quota must be between %(low)d and %(high)d MB.", low=QUOTA_MIN_MB, high=QUOTA_MAX_MB),
            field="quota_mb",
        )
    mailbox = to_change(Mailbox, mailbox_id, actor, gettext("This mailbox is being deleted."))
    was = mailbox.quota_mb
    if quota_mb > was:
        try:
            reserve(mailbox.account_id, "quota_mb", quota_mb - was)
        except ServiceError as error:
            raise ServiceError(error.message, field="quota_mb") from error
    mailbox.quota_mb = quota_mb
    db.session.flush()  # the usage counters move by the difference
    record(mailbox, "save", actor)
    audit(actor, "mailbox.quota", obj=mailbox, fields={"quota_mb": quota_mb, "was": was})
    return mailbox
