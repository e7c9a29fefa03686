"""a user's language for the pages (empty: what the browser asks for)

Revision ID: f2a7c4d8e019
Revises: e1f5a6b3c018
Create Date: 2026-12-02 04:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2a7c4d8e019"
down_revision = "e1f5a6b3c018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("locale")
