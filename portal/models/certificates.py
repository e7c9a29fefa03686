"""Automatic certificates (ACME): one per website that asks for one, the portal's ACME accounts,
and the orders counted against the CA's rate limits.

The certificate's private key is made on the web server and never leaves it; what is kept here is
public: the names, the chain, the dates, and why the worker waits or what failed.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, UTCDateTime, enum_column, utcnow
from portal.models.hosting import Website


class CertState(enum.StrEnum):
    WAITING = "waiting"  # for its names to point here, a rate limit, or its next try
    ORDERING = "ordering"  # a worker is talking to the CA
    ISSUED = "issued"  # serving; renewed from renew_at
    FAILED = "failed"  # gave up after ACME_MAX_ATTEMPTS: staff were told; a change or "Try again" restarts it


class Certificate(Timestamped, Base):
    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    website_id: Mapped[int] = mapped_column(sa.ForeignKey("website.id", ondelete="CASCADE"), unique=True)
    state: Mapped[CertState] = enum_column(CertState, CertState.WAITING)
    # The names the chain covers (A-labels), and the chain itself (PEM, leaf first).
    names: Mapped[list] = mapped_column(sa.JSON, default=list)
    chain: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    issuer: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the worker orders (again): a renewal's start, a retry, a re-check of the names.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    renew_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # Why it waits or failed, as a code and its values (worded when read, in the reader's language),
    # and the CA's or the server's own words, for staff.
    reason_code: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    reason_args: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    detail: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # dns-01 answers being published: {"_acme-challenge.<name>": [value, ...]} (public).
    dns_challenges: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    website: Mapped[Website] = relationship()


class AcmeAccount(Timestamped, Base):
    """The portal's account at one ACME directory; its key is encrypted (security/secrets.py)."""

    __tablename__ = "acme_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    directory: Mapped[str] = mapped_column(sa.String(500), unique=True)
    key_encrypted: Mapped[str] = mapped_column(sa.Text)
    uri: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")


class AcmeOrder(Base):
    """One new order or one failed validation, counted against the CA's published rate limits."""

    __tablename__ = "acme_order"
    __table_args__ = (sa.Index("ix_acme_order_domain_at", "registered_domain", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registered_domain: Mapped[str] = mapped_column(sa.String(253))
    # A failed validation's name; empty for a new order.
    failed_name: Mapped[str] = mapped_column(sa.String(253), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
