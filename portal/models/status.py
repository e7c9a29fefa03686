"""The provisioning status every server-backed object carries."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import enum_column


class Status(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    DELETING = "deleting"


class Provisioned:
    status: Mapped[Status] = enum_column(Status, Status.PENDING)
    # Plain words for the customer; never a script or a secret.
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def busy(self) -> bool:
        return self.status in (Status.PENDING, Status.DELETING)
