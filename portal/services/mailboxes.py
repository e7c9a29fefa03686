"""Create, re-password and delete mailboxes."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Mailbox, Status
from portal.orchestration.operations import NoServer, record
from portal.security.scoping import Actor, get_scoped_or_404, scoped
from portal.services import ServiceError
from portal.services.validators import local_part_problem

QUOTA_MIN_MB, QUOTA_MAX_MB = 10, 102400


def create_mailbox(actor: Actor, *, local_part: str, domain_id: int, password: str, quota_mb: int) -> Mailbox:
    local_part = local_part.lower()
    problem = local_part_problem(local_part)
    if problem:
        raise ServiceError(problem, field="local_part")
    domain = db.session.scalars(scoped(Domain, actor).where(Domain.id == domain_id)).first()
    if domain is None:
        raise ServiceError("Choose one of your own domains.", field="domain_id")
    if not QUOTA_MIN_MB <= quota_mb <= QUOTA_MAX_MB:
        raise ServiceError(f"Quota must be between {QUOTA_MIN_MB} and {QUOTA_MAX_MB} MB.", field="quota_mb")
    taken = db.session.scalar(
        sa.select(sa.func.count()).select_from(Mailbox)
        .where(Mailbox.domain_id == domain.id, Mailbox.local_part == local_part)
    )
    if taken:
        raise ServiceError(f"{local_part}@{domain.name} already exists.", field="local_part")
    mailbox = Mailbox(account_id=domain.account_id, domain=domain, local_part=local_part,
                      quota_mb=quota_mb, status=Status.PENDING)
    db.session.add(mailbox)
    db.session.flush()
    _record(mailbox, "save", actor, password)
    return mailbox


def change_mailbox_password(actor: Actor, mailbox_id: int, password: str) -> Mailbox:
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    if mailbox.status == Status.DELETING:
        raise ServiceError("This mailbox is being deleted.")
    mailbox.status, mailbox.last_error = Status.PENDING, None
    _record(mailbox, "save", actor, password)
    return mailbox


def delete_mailbox(actor: Actor, mailbox_id: int) -> Mailbox:
    mailbox = get_scoped_or_404(Mailbox, mailbox_id, actor)
    mailbox.status, mailbox.last_error = Status.DELETING, None
    _record(mailbox, "delete", actor)
    return mailbox


def _record(mailbox: Mailbox, action: str, actor: Actor, password: str | None = None) -> None:
    try:
        record(mailbox, action, actor=actor, password=password)
    except NoServer as exc:
        raise ServiceError(str(exc)) from exc
