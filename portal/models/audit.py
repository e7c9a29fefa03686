"""Append-only record of every change: who acted, for whom, on what."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account, User
from portal.models.base import Base, Timestamped


class AuditEvent(Timestamped, Base):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The user who acted, and the real one behind them (impersonating staff) if any.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    real_actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # The account acted on (a reseller acting inside a sub-account: the sub-account).
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[int | None] = mapped_column()
    # What the object was called then: it may be renamed or gone when the event is read.
    object_name: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    action: Mapped[str] = mapped_column(sa.String(40))
    # Changed fields, never secrets.
    fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    # An API request's token, and its name then (a token can be renamed or revoked; the event stays).
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_token.id"))
    token_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    real_actor: Mapped[User | None] = relationship(foreign_keys=[real_actor_id])
    account: Mapped[Account | None] = relationship()


@sa.event.listens_for(AuditEvent, "before_update")
@sa.event.listens_for(AuditEvent, "before_delete")
def _append_only(mapper, connection, target) -> None:
    raise ValueError("audit events are append-only")
