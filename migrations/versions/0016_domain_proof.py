"""domains wait for proof of ownership; several accounts may claim a name, one may have it verified

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

VERIFIED = sa.text("verified_at IS NOT NULL")
WHERE_VERIFIED = {"postgresql_where": VERIFIED, "sqlite_where": VERIFIED}


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
            verified_at=domain.c.created_at,
            proof_result="Verified: it was served before domains needed proof.",  # proof.SERVED_BEFORE, as it was then
        )
    )
    # A claim no longer blocks anyone: a name is unique within an account, and among verified domains.
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_constraint("uq_domain_name", type_="unique")
        batch_op.create_unique_constraint("uq_domain_account_name", ["account_id", "name"])
    op.create_index("uq_domain_name_verified", "domain", ["name"], unique=True, **WHERE_VERIFIED)


def downgrade():
    op.drop_index("uq_domain_name_verified", table_name="domain", **WHERE_VERIFIED)
    # Names were unique across the portal: keep the verified row of each name (else the oldest claim).
    # The claims that go never reached a server, and nothing could use them.
    op.execute(
        "DELETE FROM domain WHERE verified_at IS NULL AND EXISTS (SELECT 1 FROM domain AS other"
        " WHERE other.name = domain.name AND other.id <> domain.id"
        " AND (other.verified_at IS NOT NULL OR other.id < domain.id))"
    )
    op.execute("UPDATE account SET used_domains = (SELECT count(*) FROM domain WHERE domain.account_id = account.id)")
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_constraint("uq_domain_account_name", type_="unique")
        batch_op.create_unique_constraint("uq_domain_name", ["name"])
        batch_op.drop_index("ix_domain_proof_next_check_at")
        batch_op.drop_column("proof_detail")
        batch_op.drop_column("proof_result")
        batch_op.drop_column("proof_attempts")
        batch_op.drop_column("proof_next_check_at")
        batch_op.drop_column("proof_checked_at")
        batch_op.drop_column("verified_at")
