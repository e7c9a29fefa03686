"""Databases and database users on MariaDB or PostgreSQL, with grants between them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped, UTCDateTime, enum_column
from portal.models.status import Provisioned


class Engine(enum.StrEnum):
    MARIADB = "mariadb"
    POSTGRESQL = "postgresql"

    @property
    def label(self) -> str:
        return {"mariadb": "MariaDB", "postgresql": "PostgreSQL"}[self.value]

    @property
    def max_name(self) -> int:
        """The engine's own limit on database and user names."""
        return {"mariadb": 64, "postgresql": 63}[self.value]


database_grant = sa.Table(
    "database_grant",
    Base.metadata,
    sa.Column("database_id", sa.ForeignKey("database.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("database_user.id", ondelete="CASCADE"), primary_key=True),
)


class Database(Provisioned, Timestamped, Base):
    __tablename__ = "database"
    __table_args__ = (
        sa.UniqueConstraint("engine", "name"),
        sa.Index("ix_database_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    engine: Mapped[Engine] = enum_column(Engine, Engine.MARIADB)
    # The full name, account prefix included (acme12_blog).
    name: Mapped[str] = mapped_column(sa.String(64))
    # Reported by the server at each apply; None until then.
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    size_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
    users: Mapped[list[DatabaseUser]] = relationship(
        secondary=database_grant, back_populates="databases", order_by="DatabaseUser.name"
    )

    def __str__(self) -> str:
        return self.name


class DatabaseUser(Provisioned, Timestamped, Base):
    __tablename__ = "database_user"
    __table_args__ = (
        sa.UniqueConstraint("engine", "name"),
        sa.Index("ix_database_user_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    engine: Mapped[Engine] = enum_column(Engine, Engine.MARIADB)
    name: Mapped[str] = mapped_column(sa.String(64))

    account: Mapped[Account] = relationship()
    databases: Mapped[list[Database]] = relationship(
        secondary=database_grant, back_populates="users", order_by="Database.name"
    )

    def __str__(self) -> str:
        return self.name
