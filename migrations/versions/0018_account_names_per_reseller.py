"""account names unique within a reseller's tree, not across the portal

Revision ID: e1f5a6b3c018
Revises: d7a3b9c2e017
Create Date: 2026-12-01 23:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1f5a6b3c018"
down_revision = "d7a3b9c2e017"
branch_labels = None
depends_on = None

TOP_LEVEL = sa.text("parent_id IS NULL")


def upgrade():
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_constraint("uq_account_name", type_="unique")
        batch_op.create_unique_constraint("uq_account_parent_id_name", ["parent_id", "name"])
    op.create_index(
        "uq_account_top_level_name",
        "account",
        ["name"],
        unique=True,
        postgresql_where=TOP_LEVEL,
        sqlite_where=TOP_LEVEL,
    )


def downgrade():
    op.drop_index("uq_account_top_level_name", table_name="account")
    with op.batch_alter_table("account") as batch_op:
        batch_op.drop_constraint("uq_account_parent_id_name", type_="unique")
        batch_op.create_unique_constraint("uq_account_name", ["name"])
