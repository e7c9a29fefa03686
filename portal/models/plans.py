"""Limits: what an account may have. A named plan is a set of limits copied onto accounts.

What can be limited comes from the kinds registry (models/kinds.py: LIMITS); a test checks that
every limit there has its max_ and used_ columns here."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamped


class Limits:
    """None means no limit."""

    max_mailboxes: Mapped[int | None] = mapped_column()
    max_addresses: Mapped[int | None] = mapped_column()
    max_domains: Mapped[int | None] = mapped_column()
    max_web_apps: Mapped[int | None] = mapped_column()
    max_system_users: Mapped[int | None] = mapped_column()
    max_databases: Mapped[int | None] = mapped_column()
    max_quota_mb: Mapped[int | None] = mapped_column()
    # Custom DNS records in any one zone (services/dns.py counts them; not a usage counter).
    max_records_per_zone: Mapped[int | None] = mapped_column()

    def limit(self, kind: str) -> int | None:
        value: int | None = getattr(self, f"max_{kind}")
        return value


class Usage:
    """What an account has of each limited kind: its own rows (models/usage.py adds a reseller's
    sub-accounts when reading, and keeps these in step on every flush), so that limit checks, usage
    columns and list totals read a row instead of counting thousands."""

    used_mailboxes: Mapped[int] = mapped_column(default=0, server_default="0")
    used_addresses: Mapped[int] = mapped_column(default=0, server_default="0")
    used_domains: Mapped[int] = mapped_column(default=0, server_default="0")
    used_web_apps: Mapped[int] = mapped_column(default=0, server_default="0")
    used_system_users: Mapped[int] = mapped_column(default=0, server_default="0")
    used_databases: Mapped[int] = mapped_column(default=0, server_default="0")
    used_quota_mb: Mapped[int] = mapped_column(default=0, server_default="0")

    def used(self, kind: str) -> int:
        return getattr(self, f"used_{kind}")


class Plan(Limits, Timestamped, Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
