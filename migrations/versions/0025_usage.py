"""Usage measured on the servers: samples, hourly and daily rollups, readings, crossings; emergency contacts

Revision ID: f3a8c2d6b025
Revises: e7b1c5d9f024
Create Date: 2026-12-04 19:30:00
"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "f3a8c2d6b025"
down_revision = "e7b1c5d9f024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("emergency_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("emergency_confirmed_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("server") as batch:
        batch.add_column(sa.Column("measured_at", UTCDateTime(), nullable=True))
    op.create_table(
        "usage_sample",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("server_id", sa.Integer(), sa.ForeignKey("server.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(20), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_usage_sample_object", "usage_sample", ["object_type", "object_id", "metric", "at"])
    op.create_index("ix_usage_sample_at", "usage_sample", ["at"], postgresql_using="brin")
    op.create_table(
        "usage_rollup",
        sa.Column("object_type", sa.String(40), primary_key=True),
        sa.Column("object_id", sa.Integer(), primary_key=True),
        sa.Column("metric", sa.String(20), primary_key=True),
        sa.Column("period", sa.String(4), primary_key=True),
        sa.Column("start", UTCDateTime(), primary_key=True),
        sa.Column("server_id", sa.Integer(), sa.ForeignKey("server.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_usage_rollup_account", "usage_rollup", ["account_id", "period", "start"])
    op.create_table(
        "usage_reading",
        sa.Column("object_type", sa.String(40), primary_key=True),
        sa.Column("object_id", sa.Integer(), primary_key=True),
        sa.Column("metric", sa.String(20), primary_key=True),
        sa.Column("server_id", sa.Integer(), sa.ForeignKey("server.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_usage_reading_account", "usage_reading", ["account_id", "metric"])
    op.create_table(
        "usage_crossing",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("level", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("usage_crossing")
    op.drop_index("ix_usage_reading_account", table_name="usage_reading")
    op.drop_table("usage_reading")
    op.drop_index("ix_usage_rollup_account", table_name="usage_rollup")
    op.drop_table("usage_rollup")
    op.drop_index("ix_usage_sample_at", table_name="usage_sample")
    op.drop_index("ix_usage_sample_object", table_name="usage_sample")
    op.drop_table("usage_sample")
    with op.batch_alter_table("server") as batch:
        batch.drop_column("measured_at")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("emergency_confirmed_at")
        batch.drop_column("emergency_email")
