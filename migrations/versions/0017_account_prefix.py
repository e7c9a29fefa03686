"""a stored, unique name prefix per account

Revision ID: d7a3b9c2e017
Revises: c4d2e8a1f016
Create Date: 2026-12-01 23:50:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "d7a3b9c2e017"
down_revision = "c4d2e8a1f016"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
