"""Personal access tokens for the API, and the answers kept for repeated requests.

A token is shown once and stored only as the SHA-256 of its secret part: 256 random bits need no slow
hash, and a lookup by digest is one index probe. What it may do is the owner's rights narrowed by its
scopes, a reseller's optional list of sub-accounts and an optional list of client networks.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, Timestamped, UTCDateTime

# Areas of the API, each with read and write access (write includes read).
AREAS = ("domains", "dns", "mail", "web", "databases", "accounts", "activity")
ACCESS = ("read", "write")
SCOPES = tuple(f"{area}:{access}" for area in AREAS for access in ACCESS if (area, access) != ("activity", "write"))
PREFIX = "hdpat_"  # how a Hostdeck token reads in a config file or a secret scanner's rules


class ApiToken(Timestamped, Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The first characters of the token, shown in lists so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list] = mapped_column(sa.JSON, default=list)
    # A reseller's token may be kept to some sub-accounts (their ids); None: all of them.
    account_ids: Mapped[list | None] = mapped_column(sa.JSON)
    # Networks the token is accepted from (CIDR); None: anywhere.
    networks: Mapped[list | None] = mapped_column(sa.JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_ip: Mapped[str] = mapped_column(sa.String(45), default="", server_default="")

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, scope: str) -> bool:
        """`area:read` is granted by the area's read or write scope."""
        area, _, access = scope.partition(":")
        return scope in self.scopes or (access == "read" and f"{area}:write" in self.scopes)


class IdempotentAnswer(Base):
    """The first answer to a POST with an Idempotency-Key, replayed to a retry of the same request."""

    __tablename__ = "api_idempotent_answer"
    __table_args__ = (sa.UniqueConstraint("token_id", "key", name="uq_api_idempotent_answer_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_token.id"))
    key: Mapped[str] = mapped_column(sa.String(255))
    # SHA-256 of method, path and body: the same key with another request is refused, not replayed.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int] = mapped_column(default=0)
    body: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    location: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
