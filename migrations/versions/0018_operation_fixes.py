"""per-operation retries and failed verifiers

Revision ID: e1f5a6b3c018
Revises: d7a3b9c2e017
Create Date: 2026-12-01 23:50:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "e1f5a6b3c018"
down_revision = "d7a3b9c2e017"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
