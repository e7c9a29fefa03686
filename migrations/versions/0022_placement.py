"""placement: the servers an account's services live on (none: every routed server, as before)

Revision ID: c4f8a2e6d022
Revises: b7e4c1d9f021
Create Date: 2026-12-03 09:00:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "c4f8a2e6d022"
down_revision = "b7e4c1d9f021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_placement_account_id_account")),
        sa.ForeignKeyConstraint(["server_id"], ["server.id"], name=op.f("fk_placement_server_id_server")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
        sa.UniqueConstraint("account_id", "server_id", name="uq_placement_account_server"),
    )
    op.create_index(op.f("ix_placement_account_id"), "placement", ["account_id"])
    op.create_index(op.f("ix_placement_server_id"), "placement", ["server_id"])


def downgrade():
    op.drop_index(op.f("ix_placement_server_id"), table_name="placement")
    op.drop_index(op.f("ix_placement_account_id"), table_name="placement")
    op.drop_table("placement")
