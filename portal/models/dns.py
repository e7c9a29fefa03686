"""DNS: the records a customer adds to a domain's zone, and the DKIM keys its mail is signed with.

A domain's zone is built by the worker from the database (orchestration/zones.py): the records the
services need, then these. The zone's own state (serial, DNSSEC) lives on the Domain row.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped, UTCDateTime, enum_column
from portal.models.mail import Domain
from portal.models.status import Provisioned

# The types a customer may add; the rest (SOA, DNSKEY, ...) are the server's.
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "NS")


class DnsRecord(Provisioned, Timestamped, Base):
    """One record set member: `name` is relative to the zone ("@" for the apex), `value` the rdata
    as dnspython reads it (validated by services/dns.py)."""

    __tablename__ = "dns_record"
    __table_args__ = (
        sa.Index("ix_dns_record_domain_name", "domain_id", "name", "rtype"),
        sa.Index("ix_dns_record_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domain.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(253), default="@")
    rtype: Mapped[str] = mapped_column(sa.String(10))
    ttl: Mapped[int] = mapped_column(default=3600)
    value: Mapped[str] = mapped_column(sa.Text)

    account: Mapped[Account] = relationship()
    domain: Mapped[Domain] = relationship(lazy="joined")

    def __str__(self) -> str:
        return f"{self.name} {self.rtype}"


class DkimState(enum.StrEnum):
    NEW = "new"  # asked for: the mail server makes the key pair, then the public key is published
    ACTIVE = "active"  # published and signing
    RETIRING = "retiring"  # replaced: still published, so mail signed with it still verifies


class DkimKey(Timestamped, Base):
    """A domain's DKIM selector. The private key is made on the mail server and never leaves it; the
    script prints the public key, which is stored here and published in the zone."""

    __tablename__ = "dkim_key"
    __table_args__ = (sa.UniqueConstraint("domain_id", "selector", name="uq_dkim_key_domain_selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(sa.ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    selector: Mapped[str] = mapped_column(sa.String(63))
    state: Mapped[DkimState] = enum_column(DkimState, DkimState.NEW)
    # The base64 public key (the p= of the TXT record) once the mail server has made it.
    public_key: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A retiring key leaves the zone, and its private key the server, after this.
    retire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    domain: Mapped[Domain] = relationship()
