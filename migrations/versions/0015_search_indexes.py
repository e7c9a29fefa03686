"""trigram indexes for the support search (pg_trgm on PostgreSQL)

Revision ID: 5b1e0c7d2a94
Revises: 38df41a7c433
Create Date: 2026-11-28 07:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5b1e0c7d2a94"
down_revision = "38df41a7c433"
branch_labels = None
depends_on = None

INDEXES = (("mailbox", "local_part"), ("domain", "name"), ("user", "email"))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in INDEXES:
        op.create_index(
            f"ix_{table}_{column}_trgm",
            table,
            [column],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade():
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
