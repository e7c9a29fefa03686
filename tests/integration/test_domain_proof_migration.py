"""Migration 0016 (proof of domain ownership) goes up and down on PostgreSQL and on SQLite, each on a
scratch database of its own: domains from before count as verified, several accounts may then wait on
one name, and going down keeps one row per name (the verified one) as the old unique rule wants."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from portal import create_app
from portal.extensions import db
from tests.helpers import scratch_database
from tests.testbed.plugin import need

BEFORE = "5b1e0c7d2a94"  # 0015
PROOF = "c4d2e8a1f016"  # 0016


def _filler(column: sa.Column) -> object:
    """Some value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return datetime.now(UTC)
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.Enum) and kind.enums:
        return kind.enums[0]
    return "x"


def insert(conn: sa.Connection, table_name: str, **values: object) -> int:
    """A row in the table as the database has it now, at whatever revision."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    for column in table.columns:
        needed = not column.nullable and column.server_default is None and not column.primary_key
        if needed and column.name not in values:
            values[column.name] = _filler(column)
    return conn.execute(table.insert().values(values)).inserted_primary_key[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = os.environ.get("TEST_DATABASE_URL", "")
    need(base.startswith("postgresql"), "PostgreSQL (TEST_DATABASE_URL)")
    with scratch_database(base, "hostdeck_migration") as url:
        yield url


def domains(conn: sa.Connection) -> list[tuple]:
    columns = {c["name"] for c in sa.inspect(conn).get_columns("domain")}
    wanted = ["account_id", "name"] + (["verified_at"] if "verified_at" in columns else [])
    query = f"SELECT {', '.join(wanted)} FROM domain ORDER BY id"  # fixed column names
    return [tuple(row) for row in conn.execute(sa.text(query))]


def test_migration_0016_goes_up_and_down(scratch_url):
    app = create_app({"DATABASE_URL": scratch_url, "TESTING": True})
    with app.app_context():
        engine = sa.create_engine(scratch_url)
        upgrade(revision=BEFORE)
        with engine.begin() as conn:
            acme, rival = insert(conn, "account", name="Acme"), insert(conn, "account", name="Rival")
            insert(conn, "domain", account_id=acme, name="old.example")
            for account in (acme, rival):
                conn.execute(sa.text("UPDATE account SET used_domains = 1 WHERE id = :id"), {"id": account})
            insert(conn, "domain", account_id=rival, name="rival.example")

        upgrade(revision=PROOF)
        with engine.begin() as conn:
            assert all(verified is not None for *_, verified in domains(conn)), "domains from before are verified"
            # Waiting claims on a name another account verified, and on one nobody did.
            insert(conn, "domain", account_id=rival, name="old.example")
            insert(conn, "domain", account_id=acme, name="new.example")
            insert(conn, "domain", account_id=rival, name="new.example")
            conn.execute(sa.text("UPDATE account SET used_domains = used_domains + 2 WHERE id = :id"), {"id": rival})
            conn.execute(sa.text("UPDATE account SET used_domains = used_domains + 1 WHERE id = :id"), {"id": acme})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert(conn, "domain", account_id=rival, name="rival.example")  # twice in one account
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE domain SET verified_at = created_at WHERE name = 'old.example'"))

        upgrade()
        downgrade(revision=BEFORE)
        with engine.begin() as conn:
            assert domains(conn) == [(acme, "old.example"), (rival, "rival.example"), (acme, "new.example")]
            used = dict(conn.execute(sa.text("SELECT id, used_domains FROM account")).tuples().all())
            assert used == {acme: 2, rival: 1}, "the counters follow the rows that went"
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert(conn, "domain", account_id=rival, name="new.example")  # the old rule: unique everywhere

        upgrade()
        check()  # back at the head, the schema is the models' again
        engine.dispose()
        db.engine.dispose()
