"""(account_id, status) on every kind: the dashboard counts what is pending or failed from indexes alone

Revision ID: a3d9e6f1c020
Revises: f2a7c4d8e019
Create Date: 2026-12-02 11:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a3d9e6f1c020"
down_revision = "f2a7c4d8e019"
branch_labels = None
depends_on = None

# The mailbox has had its own since 0013.
TABLES = ("domain", "address", "system_user", "web_app", "website", "database", "database_user")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_account_status", table, ["account_id", "status"])


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_account_status", table_name=table)
