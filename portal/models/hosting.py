"""Hosting: system users that own files and log in over SFTP."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped
from portal.models.status import Provisioned


class SystemUser(Provisioned, Timestamped, Base):
    __tablename__ = "system_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    # The full unix name, account prefix included: never a system account's name.
    name: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # "sftp": SFTP only, chrooted to the home; "bash": a login shell, where the account allows it.
    shell: Mapped[str] = mapped_column(sa.String(10), default="sftp")
    # OpenSSH public keys, one per line.
    ssh_keys: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    account: Mapped[Account] = relationship()

    def __str__(self) -> str:
        return self.name
