"""Limits: what an account may have. A named plan is a set of limits copied onto accounts."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, Timestamped

# What can be limited: (column suffix, words for people).
LIMITS = {
    "mailboxes": "mailboxes", "addresses": "addresses", "domains": "domains", "web_apps": "web apps",
    "system_users": "system users", "databases": "databases", "quota_mb": "MB of mail quota",
}


class Limits:
    """None means no limit."""

    max_mailboxes: Mapped[int | None] = mapped_column()
    max_addresses: Mapped[int | None] = mapped_column()
    max_domains: Mapped[int | None] = mapped_column()
    max_web_apps: Mapped[int | None] = mapped_column()
    max_system_users: Mapped[int | None] = mapped_column()
    max_databases: Mapped[int | None] = mapped_column()
    max_quota_mb: Mapped[int | None] = mapped_column()

    def limit(self, kind: str) -> int | None:
        return getattr(self, f"max_{kind}")


class Plan(Limits, Timestamped, Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
