"""The provisioning status every server-backed object carries."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import enum_column


class Status(enum.StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    DELETING = "deleting"


class Provisioned:
    """What every kind of object on servers has (models/kinds.py): a status, the reason of a failure,
    and, declared by each model, its id and its account."""

    if TYPE_CHECKING:  # each model maps its own; this tells the type checker they are there
        id: Mapped[int]
        account_id: Mapped[int]

    status: Mapped[Status] = enum_column(Status, Status.PENDING)
    # Plain words for the customer; never a script or a secret.
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def busy(self) -> bool:
        return self.status in (Status.PENDING, Status.DELETING)
