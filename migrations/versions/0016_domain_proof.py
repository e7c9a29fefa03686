"""domains wait for proof of ownership

Revision ID: c4d2e8a1f016
Revises: 5b1e0c7d2a94
Create Date: 2026-12-01 23:50:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c4d2e8a1f016"
down_revision = "5b1e0c7d2a94"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
