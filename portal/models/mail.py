"""Mail domains and mailboxes."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped
from portal.models.status import Provisioned


class Domain(Timestamped, Base):
    __tablename__ = "domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    # Lowercase IDNA (ASCII) form; unique across the portal.
    name: Mapped[str] = mapped_column(sa.String(253), unique=True)

    account: Mapped[Account] = relationship()

    def __str__(self) -> str:
        return self.name


class Mailbox(Provisioned, Timestamped, Base):
    __tablename__ = "mailbox"
    __table_args__ = (sa.UniqueConstraint("domain_id", "local_part", name="uq_mailbox_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domain.id"), index=True)
    local_part: Mapped[str] = mapped_column(sa.String(64))
    quota_mb: Mapped[int] = mapped_column(default=1024)

    account: Mapped[Account] = relationship()
    domain: Mapped[Domain] = relationship(lazy="joined")

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    def __str__(self) -> str:
        return self.address
