"""operation (server_id, state, retry_at): the sweep's "held back by an older retry" is an index probe

Revision ID: d5a9b3f7e023
Revises: c4f8a2e6d022
Create Date: 2026-12-03 09:15:00

With 28,000 pending operations (a resync of 200 servers) the sweep's query scanned each server's
pending operations once per pending operation: 4.9 s, every SWEEP_INTERVAL. The index that ends in
retry_at answers each in one probe; it also serves every (server_id, state) lookup of the old one.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d5a9b3f7e023"
down_revision = "c4f8a2e6d022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_operation_server_state_retry", "operation", ["server_id", "state", "retry_at"])
    op.drop_index("ix_operation_server_state", table_name="operation")


def downgrade():
    op.create_index("ix_operation_server_state", "operation", ["server_id", "state"])
    op.drop_index("ix_operation_server_state_retry", table_name="operation")
