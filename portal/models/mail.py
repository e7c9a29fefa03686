"""Mail domains, mailboxes (something you can hold) and addresses (names that deliver)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped, UTCDateTime, search_index
from portal.models.status import Provisioned
from portal.models.validators import unicode_name

address_mailbox = sa.Table(
    "address_mailbox",
    Base.metadata,
    sa.Column("address_id", sa.ForeignKey("address.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("mailbox_id", sa.ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True, index=True),
)


VERIFIED = sa.text("verified_at IS NOT NULL")


class Domain(Provisioned, Timestamped, Base):
    __tablename__ = "domain"
    __table_args__ = (
        search_index("domain", "name"),
        # Several accounts may claim a name while they prove it; only one may have it proved.
        sa.UniqueConstraint("account_id", "name", name="uq_domain_account_name"),
        sa.Index("uq_domain_name_verified", "name", unique=True, postgresql_where=VERIFIED, sqlite_where=VERIFIED),
        sa.Index("ix_domain_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    # Lowercase IDNA (ASCII) form; once in an account, and once among verified domains.
    name: Mapped[str] = mapped_column(sa.String(253))
    # Proof of control (orchestration/proof.py): until verified_at is set, no server is told of it.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proof_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the worker looks for the record again; None once verified (or while nobody waits).
    proof_next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Checks so far without the record: the backoff grows with them.
    proof_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # The last check (or how it was verified) as a code and its values, never words: orchestration/proof.py
    # words them when read, in the reader's language. Then the resolver's raw answer, for staff.
    proof_code: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    proof_args: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default="{}")
    proof_detail: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The zone (orchestration/zones.py): its serial (date and counter, only ever up) and a digest of
    # what it held when the serial last moved, so an unchanged zone keeps its serial.
    dns_serial: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    dns_digest: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    # DNSSEC, opt-in: inline signing on the primary; the DS records it printed, for the registrar.
    dnssec: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    dnssec_ds: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Where DMARC aggregate reports go (rua); empty: none asked for.
    dmarc_reports: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")

    account: Mapped[Account] = relationship()

    @property
    def display_name(self) -> str:
        return unicode_name(self.name)

    def __str__(self) -> str:
        return self.display_name


class Mailbox(Provisioned, Timestamped, Base):
    __tablename__ = "mailbox"
    __table_args__ = (
        sa.UniqueConstraint("domain_id", "local_part", name="uq_mailbox_address"),
        # The list's order: a page is read straight from the index.
        sa.Index("ix_mailbox_account_name", "account_id", "local_part", "domain_id"),
        # The dashboard counts the mailboxes not yet applied from this index alone.
        sa.Index("ix_mailbox_account_status", "account_id", "status"),
        search_index("mailbox", "local_part"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domain.id"), index=True)
    local_part: Mapped[str] = mapped_column(sa.String(64))
    # active_history: a quota change moves the usage counter by the difference (models/usage.py).
    quota_mb: Mapped[int] = mapped_column(default=1024, active_history=True)
    # The vacation reply, applied as a Sieve script.
    autoreply_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    autoreply_subject: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    autoreply_message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    autoreply_start: Mapped[date | None] = mapped_column(sa.Date)
    autoreply_end: Mapped[date | None] = mapped_column(sa.Date)

    account: Mapped[Account] = relationship()
    domain: Mapped[Domain] = relationship(lazy="joined")
    addresses: Mapped[list[Address]] = relationship(secondary=address_mailbox, back_populates="mailboxes")

    @property
    def address(self) -> str:
        """As servers know it (IDNA)."""
        return f"{self.local_part}@{self.domain.name}"

    @property
    def display(self) -> str:
        """As people read it (Unicode)."""
        return f"{self.local_part}@{self.domain.display_name}"

    def __str__(self) -> str:
        return self.address


class Address(Provisioned, Timestamped, Base):
    __tablename__ = "address"
    __table_args__ = (
        sa.UniqueConstraint("domain_id", "local_part", name="uq_address_name"),
        sa.Index("ix_address_account_name", "account_id", "local_part", "domain_id"),
        sa.Index("ix_address_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domain.id"), index=True)
    # Empty: the catch-all for the domain.
    local_part: Mapped[str] = mapped_column(sa.String(64), default="")
    # External addresses mail is forwarded to.
    forwards: Mapped[list] = mapped_column(sa.JSON, default=list)

    account: Mapped[Account] = relationship()
    domain: Mapped[Domain] = relationship(lazy="joined")
    mailboxes: Mapped[list[Mailbox]] = relationship(
        secondary=address_mailbox, back_populates="addresses", order_by="Mailbox.local_part"
    )

    @property
    def catch_all(self) -> bool:
        return self.local_part == ""

    @property
    def key(self) -> str:
        """The name as Postfix looks it up: local@domain, or @domain for the catch-all."""
        return f"{self.local_part}@{self.domain.name}"

    @property
    def display(self) -> str:
        return f"{self.local_part or '*'}@{self.domain.display_name}"

    @property
    def destinations(self) -> list[str]:
        """Where Postfix delivers it (IDNA)."""
        return [m.address for m in self.mailboxes] + list(self.forwards or [])

    def __str__(self) -> str:
        return self.display
