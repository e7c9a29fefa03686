"""a stored, unique name prefix per account

Revision ID: d7a3b9c2e017
Revises: c4d2e8a1f016
Create Date: 2026-12-01 23:50:00

Until now the prefix was worked out each time: up to 8 letters and digits of the name, then the id.
Two accounts could get the same one ("Abcdefg1" with id 6 and "Abcdefg" with id 16: abcdefg16).
New accounts get letters only, then the id (models/accounts.py: name_prefix), which no two share.
An account from before keeps its old prefix, which its names on the servers carry, unless another
account shares it or a new-style prefix could one day equal it ("web2" with id 5 is web25, as
"Web" with id 25 would be): then it gets the new-style one. Its existing names stay as they are.
"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d7a3b9c2e017"
down_revision = "c4d2e8a1f016"
branch_labels = None
depends_on = None

NEW_STYLE = re.compile(r"([a-z]{1,8})([1-9][0-9]*)")


def _old(name: str, account_id: int) -> str:
    slug = re.sub(r"[^a-z0-9]", "", name.lower())[:8] or "acct"
    if not slug[0].isalpha():
        slug = "a" + slug[:7]
    return f"{slug}{account_id}"


def _new(name: str, account_id: int) -> str:
    return (re.sub(r"[^a-z]", "", name.lower())[:8] or "acct") + str(account_id)


def prefixes(accounts: dict[int, str]) -> dict[int, str]:
    """account id -> prefix, every one different, and none a new-style prefix of another id."""
    last = max(accounts, default=0)
    old = {account_id: _old(name, account_id) for account_id, name in accounts.items()}
    uses: dict[str, int] = {}
    for prefix in old.values():
        uses[prefix] = uses.get(prefix, 0) + 1
    chosen = {}
    for account_id, prefix in old.items():
        match = NEW_STYLE.fullmatch(prefix)
        other = int(match.group(2)) if match else account_id
        # A new-style prefix of another id: of an account to come, or of one that may get it here.
        clash = other != account_id and (other > last or _new(accounts.get(other, ""), other) == prefix)
        keep = uses[prefix] == 1 and not clash
        chosen[account_id] = prefix if keep else _new(accounts[account_id], account_id)
    return chosen


def upgrade():
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefix", sa.String(length=24), nullable=True))
    account = sa.table("account", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("prefix"))
    connection = op.get_bind()
    names = {row.id: row.name for row in connection.execute(sa.select(account.c.id, account.c.name))}
    for account_id, prefix in prefixes(names).items():
        connection.execute(account.update().where(account.c.id == account_id).values(prefix=prefix))
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_account_prefix", ["prefix"])


def downgrade():
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint("uq_account_prefix", type_="unique")
        batch_op.drop_column("prefix")
