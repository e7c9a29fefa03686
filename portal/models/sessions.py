"""Server-side login sessions and two-factor recovery codes.

The cookie carries a random session id; only its SHA-256 is stored. Deleting the row ends the
session everywhere, so a copied or logged-out cookie is worth nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, Timestamped, UTCDateTime, utcnow


class LoginSession(Timestamped, Base):
    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The person who logged in: with an impersonation running, the staff member or reseller.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last time the user proved their authenticator code (login or step-up).
    stepped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    # The user being impersonated, why, and since when.
    subject_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    impersonating_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])


class RecoveryCode(Timestamped, Base):
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # SHA-256 of an 80-bit random code: not worth a slow hash, and not reversible.
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
