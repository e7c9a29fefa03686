"""usage_reading (server_id, account_id, metric, object_type, value): staff's heaviest accounts per server

Revision ID: b5d0f2a8e027
Revises: f3a8c2d6b025
Create Date: 2026-12-04 19:40:00

The staff usage page ranks every account on each server by what it stores there. Its one query groups
the readings by server and account; this index holds every column it reads, so it is an index-only scan
in that order instead of a sort of the whole table.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b5d0f2a8e027"
down_revision = "f3a8c2d6b025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_usage_reading_server", "usage_reading", ["server_id", "account_id", "metric", "object_type", "value"]
    )


def downgrade():
    op.drop_index("ix_usage_reading_server", table_name="usage_reading")
