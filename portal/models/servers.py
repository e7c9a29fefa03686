"""Managed servers and which backend runs where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, UTCDateTime


class Server(Timestamped, Base):
    __tablename__ = "server"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(default=22)
    ssh_user: Mapped[str] = mapped_column(sa.String(64), default="root")
    # Pinned public host key, "ssh-ed25519 AAAA...". Never learnt on first use.
    host_key: Mapped[str | None] = mapped_column(sa.Text)
    transport: Mapped[str] = mapped_column(sa.String(10), default="ssh")
    # Backend settings: only those models/server_settings.py declares, each of its shape.
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # An open incident: the first failed log since the last success (staff were told once).
    incident_log_id: Mapped[int | None] = mapped_column()
    # When its last usage round ended (orchestration/metering/): the sweeper starts the next one.
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    routes: Mapped[list[Route]] = relationship(back_populates="server", cascade="all, delete-orphan")

    def setting(self, name: str, default: Any = None) -> Any:
        """A backend setting (models/server_settings.py says what each holds)."""
        return (self.settings or {}).get(name, default)

    def __str__(self) -> str:
        return self.name


class Route(Timestamped, Base):
    __tablename__ = "route"
    __table_args__ = (sa.UniqueConstraint("backend", "server_id", name="uq_route_backend_server"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(sa.String(40), index=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id"), index=True)

    server: Mapped[Server] = relationship(back_populates="routes")
