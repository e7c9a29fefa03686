"""domains wait for proof of ownership

Revision ID: c4d2e8a1f016
Revises: 5b1e0c7d2a94
Create Date: 2026-12-01 23:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d2e8a1f016"
down_revision = "5b1e0c7d2a94"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proof_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proof_next_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proof_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("proof_result", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("proof_detail", sa.Text(), server_default="", nullable=False))
        batch_op.create_index("ix_domain_proof_next_check_at", ["proof_next_check_at"], unique=False)
    # Domains from before are on the servers already: they count as proven.
    domain = sa.table(
        "domain",
        sa.column("verified_at", sa.DateTime(timezone=True)),
        sa.column("created_at"),
        sa.column("proof_result"),
    )
    op.execute(
        domain.update().values(
            verified_at=domain.c.created_at, proof_result="Verified: it was served before domains needed proof."
        )
    )


def downgrade():
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_index("ix_domain_proof_next_check_at")
        batch_op.drop_column("proof_detail")
        batch_op.drop_column("proof_result")
        batch_op.drop_column("proof_attempts")
        batch_op.drop_column("proof_next_check_at")
        batch_op.drop_column("proof_checked_at")
        batch_op.drop_column("verified_at")
