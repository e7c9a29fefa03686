"""DNS zones, DKIM keys and automatic certificates

Revision ID: e7b1c5d9f024
Revises: d5a9b3f7e023
Create Date: 2026-12-03 13:40:00

Websites that had the customer's certificate keep it ("uploaded"); the others get an automatic
one once their names point at the web server ("auto").
"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "e7b1c5d9f024"
down_revision = "d5a9b3f7e023"
branch_labels = None
depends_on = None

STATUS = sa.Enum("pending", "applied", "failed", "deleting", name="status", native_enum=False, length=20)


def upgrade():
    with op.batch_alter_table("domain") as t:
        t.add_column(sa.Column("dns_serial", sa.BigInteger(), server_default="0", nullable=False))
        t.add_column(sa.Column("dns_digest", sa.String(64), server_default="", nullable=False))
        t.add_column(sa.Column("dnssec", sa.Boolean(), server_default=sa.false(), nullable=False))
        t.add_column(sa.Column("dnssec_ds", sa.Text(), server_default="", nullable=False))
        t.add_column(sa.Column("dmarc_reports", sa.String(254), server_default="", nullable=False))
    with op.batch_alter_table("website") as t:
        t.add_column(sa.Column("tls_mode", sa.String(10), server_default="auto", nullable=False))
        t.add_column(sa.Column("redirect_https", sa.Boolean(), server_default=sa.false(), nullable=False))
        t.add_column(sa.Column("hsts", sa.Boolean(), server_default=sa.false(), nullable=False))
        t.add_column(sa.Column("wildcard", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE website SET tls_mode = 'uploaded' WHERE https")
    for table in ("plan", "account"):
        with op.batch_alter_table(table) as t:
            t.add_column(sa.Column("max_records_per_zone", sa.Integer(), nullable=True))
    op.create_table(
        "dns_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("account.id", name="fk_dns_record_account_id_account"),
            nullable=False,
        ),
        sa.Column(
            "domain_id", sa.Integer(), sa.ForeignKey("domain.id", name="fk_dns_record_domain_id_domain"), nullable=False
        ),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("rtype", sa.String(10), nullable=False),
        sa.Column("ttl", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dns_record"),
    )
    op.create_index("ix_dns_record_account_id", "dns_record", ["account_id"])
    op.create_index("ix_dns_record_domain_id", "dns_record", ["domain_id"])
    op.create_index("ix_dns_record_domain_name", "dns_record", ["domain_id", "name", "rtype"])
    op.create_index("ix_dns_record_account_status", "dns_record", ["account_id", "status"])
    op.create_table(
        "dkim_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "domain_id",
            sa.Integer(),
            sa.ForeignKey("domain.id", name="fk_dkim_key_domain_id_domain", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("selector", sa.String(63), nullable=False),
        sa.Column(
            "state",
            sa.Enum("new", "active", "retiring", name="dkimstate", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("public_key", sa.Text(), server_default="", nullable=False),
        sa.Column("active_at", UTCDateTime(), nullable=True),
        sa.Column("retire_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dkim_key"),
        sa.UniqueConstraint("domain_id", "selector", name="uq_dkim_key_domain_selector"),
    )
    op.create_index("ix_dkim_key_domain_id", "dkim_key", ["domain_id"])
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("account.id", name="fk_certificate_account_id_account"),
            nullable=False,
        ),
        sa.Column(
            "website_id",
            sa.Integer(),
            sa.ForeignKey("website.id", name="fk_certificate_website_id_website", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum("waiting", "ordering", "issued", "failed", name="certstate", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("chain", sa.Text(), server_default="", nullable=False),
        sa.Column("issuer", sa.String(255), server_default="", nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=True),
        sa.Column("not_after", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("renew_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reason_code", sa.String(32), server_default="", nullable=False),
        sa.Column("reason_args", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("dns_challenges", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_certificate"),
        sa.UniqueConstraint("website_id", name="uq_certificate_website_id"),
    )
    op.create_index("ix_certificate_account_id", "certificate", ["account_id"])
    op.create_index("ix_certificate_next_attempt_at", "certificate", ["next_attempt_at"])
    op.create_table(
        "acme_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("directory", sa.String(500), nullable=False),
        sa.Column("key_encrypted", sa.Text(), nullable=False),
        sa.Column("uri", sa.String(500), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_acme_account"),
        sa.UniqueConstraint("directory", name="uq_acme_account_directory"),
    )
    op.create_table(
        "acme_order",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("registered_domain", sa.String(253), nullable=False),
        sa.Column("failed_name", sa.String(253), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_acme_order"),
    )
    op.create_index("ix_acme_order_domain_at", "acme_order", ["registered_domain", "created_at"])
    op.create_index("ix_acme_order_created_at", "acme_order", ["created_at"])


def downgrade():
    op.drop_table("acme_order")
    op.drop_table("acme_account")
    op.drop_table("certificate")
    op.drop_table("dkim_key")
    op.drop_table("dns_record")
    for table in ("plan", "account"):
        with op.batch_alter_table(table) as t:
            t.drop_column("max_records_per_zone")
    with op.batch_alter_table("website") as t:
        for column in ("wildcard", "hsts", "redirect_https", "tls_mode"):
            t.drop_column(column)
    with op.batch_alter_table("domain") as t:
        for column in ("dmarc_reports", "dnssec_ds", "dnssec", "dns_digest", "dns_serial"):
            t.drop_column(column)
