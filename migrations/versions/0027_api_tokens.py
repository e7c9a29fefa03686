"""The REST API: personal access tokens, kept answers for Idempotency-Key, the token on audit events

Revision ID: c9e4a1b7d028
Revises: b5d0f2a8e027
Create Date: 2026-12-08 01:30:00
"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "c9e4a1b7d028"
down_revision = "b5d0f2a8e027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", name="fk_api_token_user_id_user"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=True),
        sa.Column("networks", sa.JSON(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_ip", sa.String(45), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("digest", name="uq_api_token_digest"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])
    op.create_table(
        "api_idempotent_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "token_id",
            sa.Integer(),
            sa.ForeignKey("api_token.id", name="fk_api_idempotent_answer_token_id_api_token"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("location", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_idempotent_answer"),
        sa.UniqueConstraint("token_id", "key", name="uq_api_idempotent_answer_token_key"),
    )
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("token_name", sa.String(100), nullable=False, server_default=""))
        batch.create_foreign_key("fk_audit_event_token_id_api_token", "api_token", ["token_id"], ["id"])


def downgrade():
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint("fk_audit_event_token_id_api_token", type_="foreignkey")
        batch.drop_column("token_name")
        batch.drop_column("token_id")
    op.drop_table("api_idempotent_answer")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
