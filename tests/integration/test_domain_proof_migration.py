"""Migration 0016 (proof of domain ownership) goes up and down on PostgreSQL and on SQLite, each on a
scratch database of its own: domains from before count as verified, several accounts may then wait on
one name, and going down keeps one row per name (the verified one) as the old unique rule wants.
Migration 0021 turns the stored English sentences into codes, read in the reader's language."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_migrate import check, downgrade, upgrade

from portal import create_app
from portal.extensions import db
from portal.models import Domain
from portal.orchestration.proof import proof_words
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


BEFORE_WORDS = "a3d9e6f1c020"  # 0020
WORDS = "b7e4c1d9f021"  # 0021
LOST_END = " This claim can no longer be verified; you may delete it."
# (name, what 0020 stored, the resolver's answer) -> (code, values) after 0021.
SENTENCES = {
    ("old.example", "Verified: it was served before domains needed proof.", ""): ("served_before", {}),
    ("wait.example", "Waiting for the TXT record.", ""): ("waiting", {}),
    ("shop.xn--bcher-kva.example", "Verified with bücher.example.", ""): (
        "with_parent",
        {"name": "xn--bcher-kva.example"},
    ),
    ("gone.example", "No TXT record _hostdeck-challenge.gone.example was found.", "x: NXDOMAIN"): ("nxdomain", {}),
    ("wrong.example", "The TXT record _hostdeck-challenge.wrong.example holds 'abc', not the value shown here.", ""): (
        "wrong_value",
        {"values": ["abc"]},
    ),
    ("lost.example", f"Another account has proved that lost.example is theirs.{LOST_END}", ""): ("lost", {}),
    ("typed.example", "Something an operator typed.", ""): ("legacy", {"text": "Something an operator typed."}),
    ("new.example", "", ""): ("", {}),
}


def proof_columns(conn: sa.Connection) -> dict[str, tuple]:
    """name -> what the row says of its proof: (proof_result,) before 0021, (proof_code, proof_args) after."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns("domain")}
    wanted = (
        [sa.column("proof_result")]
        if "proof_result" in columns
        else [sa.column("proof_code"), sa.column("proof_args", sa.JSON)]
    )
    domain = sa.table("domain", sa.column("name"), *wanted)
    return {name: tuple(rest) for name, *rest in conn.execute(sa.select(domain.c.name, *wanted))}


def test_migration_0021_turns_sentences_into_codes_read_in_spanish(scratch_url):
    app = create_app({"DATABASE_URL": scratch_url, "TESTING": True})
    with app.app_context():
        engine = sa.create_engine(scratch_url)
        upgrade(revision=BEFORE_WORDS)
        with engine.begin() as conn:
            acme = insert(conn, "account", name="Acme", prefix="acme1")
            for name, text, detail in SENTENCES:
                insert(conn, "domain", account_id=acme, name=name, proof_result=text, proof_detail=detail)

        upgrade(revision=WORDS)
        with engine.begin() as conn:
            assert "proof_result" not in {c["name"] for c in sa.inspect(conn).get_columns("domain")}
            assert proof_columns(conn) == {name: found for (name, *_), found in SENTENCES.items()}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # the table kept its indexes
            rival = insert(conn, "account", name="Rival", prefix="rival2")
            conn.execute(sa.text("UPDATE domain SET verified_at = created_at WHERE name = 'old.example'"))
            insert(conn, "domain", account_id=rival, name="old.example", verified_at=datetime.now(UTC))

        # Read at the head, by a Spanish speaker: the lost claim in the catalog's Spanish, the rest worded
        # from its code, the unreadable sentence as it was.
        upgrade()
        with app.test_request_context("/"), force_locale("es"):
            shown = {d.name: proof_words(d) for d in db.session.scalars(sa.select(Domain))}
        db.session.remove()
        assert shown["lost.example"] == (
            "Otra cuenta ha demostrado que lost.example es suyo. Esta solicitud ya no se puede verificar; "
            "puedes eliminarla."
        )
        assert shown["shop.xn--bcher-kva.example"].count("bücher.example") == 1
        assert shown["typed.example"] == "Something an operator typed."
        assert shown["new.example"] == ""
        assert all(words for name, words in shown.items() if name != "new.example")

        downgrade(revision=BEFORE_WORDS)
        with engine.begin() as conn:
            assert proof_columns(conn) == {name: (text,) for name, text, _ in SENTENCES}, "the same sentences"
        upgrade()
        check()
        engine.dispose()
        db.engine.dispose()
