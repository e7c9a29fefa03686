"""Databases: each one's size, one query per engine and round, through the backend's own client.

The query joins the portal's own (id, name) list to what the engine reports, so every line carries
an id the portal chose, and a database the engine does not have (not made yet) reads 0. MariaDB: the
tables' data and indexes per schema (information_schema); PostgreSQL: pg_database_size.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Database, Engine, Server
from portal.models.metering import Metric
from portal.orchestration.backends.mariadb import MariaDbBackend
from portal.orchestration.backends.postgresql import PostgreSqlBackend
from portal.orchestration.backends.sql import SqlBackend, name
from portal.orchestration.metering.base import PREFIX, Collector, Target
from portal.orchestration.metering.held import held
from portal.orchestration.placement import accounts_here
from portal.orchestration.script import Script, UnsafeValue, q
from portal.orchestration.sql import mariadb_string, pg_string

# The client's errors go to stderr (the round's log then says WARNING); only our lines reach stdout.
# From /: psql run as postgres warns about a working directory it cannot enter.
FRAGMENT = """\
hu_sql=$(cd / && printf '%s\\n' {sql} | {client}) || echo {failed} >&2
printf '%s\\n' "$hu_sql" | grep {pattern} || true
"""

MARIADB = """\
SELECT {prefix}, 'mariadb', 'Database', listed.id, 'database_bytes', COALESCE(sizes.bytes, 0)
FROM ({listed}) AS listed
LEFT JOIN (
  SELECT table_schema, SUM(data_length + index_length) AS bytes FROM information_schema.tables
  WHERE table_schema IN ({names}) GROUP BY table_schema
) AS sizes ON sizes.table_schema = listed.name
ORDER BY listed.id;"""

POSTGRESQL = """\
SELECT concat_ws(chr(9), {prefix}, 'postgresql', 'Database', listed.id, 'database_bytes',
                 COALESCE(pg_database_size(d.oid), 0))
FROM (VALUES {listed}) AS listed(id, name)
LEFT JOIN pg_database AS d ON d.datname = listed.name
ORDER BY listed.id;"""


class DatabaseCollector(Collector):
    metrics = frozenset({Metric.DATABASE_BYTES})
    object_types = ("Database",)
    engine: Engine
    client_of: SqlBackend

    def targets(self, server: Server) -> list[Target]:
        query = sa.select(Database.id, Database.account_id, Database.name).where(
            Database.engine == self.engine, *held(Database, accounts_here(server.id))
        )
        found = []
        for object_id, account_id, database in db.session.execute(query.order_by(Database.id)):
            try:
                found.append(Target("Database", object_id, account_id, name(database)))
            except UnsafeValue:  # a name the backend refuses is on no server
                continue
        return found

    def query(self, targets: list[Target]) -> str:
        raise NotImplementedError

    def measure(self, script: Script, server: Server, targets: list[Target]) -> None:
        if not targets:
            return
        script.add(
            FRAGMENT.format(
                sql=q(self.query(targets)),
                client=self.client_of.client(server),
                failed=q(f"{self.client_of.service} did not answer the size query"),
                pattern=q(f"^{PREFIX}\t"),
            )
        )


class MariaDbSizes(DatabaseCollector):
    name = "mariadb"
    backend = "mariadb"
    engine = Engine.MARIADB
    client_of = MariaDbBackend()

    def query(self, targets: list[Target]) -> str:
        # The client in --batch mode puts a tab between columns, and escapes any inside one.
        listed = " UNION ALL ".join(
            f"SELECT {int(t.object_id)} AS id, {mariadb_string(t.key)} AS name" for t in targets
        )
        # The schemas named, so the server opens only their tables' metadata, not every schema's.
        names = ", ".join(mariadb_string(t.key) for t in targets)
        return MARIADB.format(prefix=mariadb_string(PREFIX), listed=listed, names=names)


class PostgreSqlSizes(DatabaseCollector):
    name = "postgresql"
    backend = "postgresql"
    engine = Engine.POSTGRESQL
    client_of = PostgreSqlBackend()

    def query(self, targets: list[Target]) -> str:
        listed = ", ".join(f"({int(t.object_id)}, {pg_string(t.key)})" for t in targets)
        return POSTGRESQL.format(prefix=pg_string(PREFIX), listed=listed)


MARIADB_SIZES = MariaDbSizes()
POSTGRESQL_SIZES = PostgreSqlSizes()
