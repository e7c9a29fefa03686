"""Hosting: system users that own files and log in over SFTP."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, Timestamped
from portal.models.mail import Domain
from portal.models.status import Provisioned


class SystemUser(Provisioned, Timestamped, Base):
    __tablename__ = "system_user"
    __table_args__ = (sa.Index("ix_system_user_account_status", "account_id", "status"),)

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


class WebApp(Provisioned, Timestamped, Base):
    """Files under ~/webapps/<name> of a system user, served static or through a PHP-FPM pool."""

    __tablename__ = "web_app"
    __table_args__ = (
        sa.UniqueConstraint("system_user_id", "name", name="uq_web_app_user_name"),
        sa.Index("ix_web_app_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    system_user_id: Mapped[int] = mapped_column(sa.ForeignKey("system_user.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(10), default="static")  # static | php
    php_version: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    # Validated PHP settings: memory_limit, upload_max_filesize, post_max_size, ...
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    account: Mapped[Account] = relationship()
    system_user: Mapped[SystemUser] = relationship(lazy="joined")

    def __str__(self) -> str:
        return self.name


website_domain = sa.Table(
    "website_domain",
    Base.metadata,
    sa.Column("website_id", sa.ForeignKey("website.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain_id", sa.ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Website(Provisioned, Timestamped, Base):
    """An nginx server block: the account's domains (with www.), web apps mounted on paths."""

    __tablename__ = "website"
    __table_args__ = (sa.Index("ix_website_account_status", "account_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    with_www: Mapped[bool] = mapped_column(default=True)
    # Also every subdomain (*.<domain>): its automatic certificate is proved over dns-01, in our DNS.
    wildcard: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # HTTPS with the customer's certificate (public). Its private key is never kept here:
    # it travels once, as an operation's secret, to the server.
    https: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    certificate: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # "auto": a certificate from the ACME CA (models/certificates.py) once the names point here;
    # "uploaded": the customer's own (https and certificate above); "none": HTTP only.
    tls_mode: Mapped[str] = mapped_column(sa.String(10), default="auto", server_default="auto")
    redirect_https: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    hsts: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    account: Mapped[Account] = relationship()
    domains: Mapped[list[Domain]] = relationship(secondary=website_domain, order_by="Domain.name")
    mounts: Mapped[list[Mount]] = relationship(
        back_populates="website", cascade="all, delete-orphan", order_by="Mount.path"
    )

    def __str__(self) -> str:
        return self.name


class Mount(Base):
    __tablename__ = "website_mount"
    __table_args__ = (sa.UniqueConstraint("website_id", "path", name="uq_website_mount_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    website_id: Mapped[int] = mapped_column(sa.ForeignKey("website.id", ondelete="CASCADE"), index=True)
    web_app_id: Mapped[int] = mapped_column(sa.ForeignKey("web_app.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(200), default="/")

    website: Mapped[Website] = relationship(back_populates="mounts")
    web_app: Mapped[WebApp] = relationship(lazy="joined")
