"""Accounts (customers and resellers) and the users who log in."""

from __future__ import annotations

import enum
import re
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, Timestamped, UTCDateTime, enum_column, search_index
from portal.models.plans import Limits, Usage


class AccountKind(enum.StrEnum):
    CUSTOMER = "customer"
    RESELLER = "reseller"


class Role(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"
    ADMIN = "admin"


def name_prefix(name: str, account_id: int) -> str:
    """The prefix of an account's system user and database names: letters of its name, then its id.

    The letters hold no digit, so the id always starts where the digits do: no two accounts can get
    the same prefix (before, "Abcdefg1" with id 6 and "Abcdefg" with id 16 both got abcdefg16). At
    most 8 + 7 characters, so prefix_name16 stays within Unix's 32 even past a million accounts.
    """
    return (re.sub(r"[^a-z]", "", name.lower())[:8] or "acct") + str(account_id)


class Account(Limits, Usage, Timestamped, Base):
    __tablename__ = "account"
    # Names are unique among a reseller's sub-accounts and among top-level accounts, never across
    # resellers: a refusal would tell one reseller what another's customers are called.
    __table_args__ = (
        sa.UniqueConstraint("parent_id", "name", name="uq_account_parent_id_name"),
        sa.Index(
            "uq_account_top_level_name",
            "name",
            unique=True,
            postgresql_where=sa.text("parent_id IS NULL"),
            sqlite_where=sa.text("parent_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # What its system users' and databases' names start with (name_prefix); accounts from before
    # keep the one their names on the servers already carry (migration 0017).
    prefix: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    kind: Mapped[AccountKind] = enum_column(AccountKind, AccountKind.CUSTOMER)
    # A customer sub-account points at the reseller that owns it.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Limits (more come with plans): may its system users have a login shell?
    allow_login_shell: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set when the account is being removed: its services go from the servers, and the row stays
    # (inactive) so that its history keeps pointing somewhere.
    deleting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_total: Mapped[int] = mapped_column(default=0, server_default="0")
    # Where warnings go (usage, incidents): an address on no domain the portal hosts for the account,
    # so it still reads mail when the account's mail server is down. Confirmed by a signed link.
    emergency_email: Mapped[str | None] = mapped_column(sa.String(254))
    emergency_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parent: Mapped[Account | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")
    users: Mapped[list[User]] = relationship(back_populates="account")

    def assigned_prefix(self) -> str:
        """The stored prefix, given one on first use (it needs the id)."""
        if self.prefix is None:
            self.prefix = name_prefix(self.name, self.id)
        return self.prefix

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Account {self.name}>"


class User(UserMixin, Timestamped, Base):
    __tablename__ = "user"
    __table_args__ = (search_index("user", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = enum_column(Role, Role.OWNER)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # The pages' language ("en", "es"); None follows the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor login: the TOTP seed, encrypted with the portal's key (security/totp.py). It is set
    # while enrolling and counts once confirmed; the last accepted time step refuses a code's reuse.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    account: Mapped[Account | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and (self.account is None or self.account.active)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def needs_two_factor(self) -> bool:
        return self.is_staff or self.totp_enabled

    def __str__(self) -> str:
        return self.email

    def __repr__(self) -> str:
        return f"<User {self.email}>"
