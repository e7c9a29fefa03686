"""PostgreSQL: databases, login roles and their grants, through `psql` on the server.

Each database is owned by a NOLOGIN role of the same name. A granted user is a member of it and,
in that database, works as it (`ALTER ROLE … IN DATABASE … SET role`), so every granted user
reaches every table, whoever created it. PUBLIC loses CONNECT: without a grant, no way in.
Identifiers are quoted by PostgreSQL itself (`format('%I')`) or as "…" by sql.pg_name().

Server settings:
  postgresql_run_as    the unix user psql runs as (default "postgres", via runuser; "" for the SSH user)
  postgresql_host, postgresql_port, postgresql_admin   where and as whom, if not the local socket
  postgresql_admin_db  the database psql starts in (default "postgres")
"""

from __future__ import annotations

from typing import Any

from portal.models import Database, DatabaseUser, Engine, Server
from portal.orchestration import verifiers
from portal.orchestration.backends.sql import SqlBackend, account_databases, active, granted, name
from portal.orchestration.script import q
from portal.orchestration.sql import pg_name, pg_string

MISSING = """DO $hostdeck$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {user}) THEN
    RAISE EXCEPTION 'the user is missing on the server: set its password again';
  END IF;
END $hostdeck$;"""


def _if(exists: str, statement: str, *args: str) -> str:
    """Run format(statement, args…) only if the EXISTS query finds something (psql's \\gexec)."""
    quoted = ", ".join(pg_string(a) for a in args)
    return f"SELECT format({pg_string(statement)}, {quoted}) WHERE {exists}\\gexec"


def _role(role: str) -> str:
    return f"EXISTS (SELECT FROM pg_roles WHERE rolname = {pg_string(role)})"


def _database(database: str) -> str:
    return f"EXISTS (SELECT FROM pg_database WHERE datname = {pg_string(database)})"


class PostgreSqlBackend(SqlBackend):
    name = "postgresql"
    service = Engine.POSTGRESQL.label
    engine = Engine.POSTGRESQL

    def verifier(self, server: Server, plaintext: str) -> str:
        return verifiers.scram_sha256(plaintext)

    def admin_db(self, server: Server) -> str:
        return name(server.setting("postgresql_admin_db", "postgres"))

    def client(self, server: Server) -> str:
        words = []
        if server.setting("postgresql_run_as", "postgres"):
            words += ["runuser", "-u", q(server.setting("postgresql_run_as", "postgres")), "--"]
        words += ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", q(self.admin_db(server))]
        for option, key in (("-h", "postgresql_host"), ("-p", "postgresql_port"), ("-U", "postgresql_admin")):
            if server.setting(key):
                words += [option, q(server.setting(key))]
        return " ".join(words)

    def save_database(self, server: Server, db: Database, ref: int) -> list[str]:
        database = name(db.name)
        return [
            _if(f"NOT {_role(database)}", "CREATE ROLE %I NOLOGIN", database),
            _if(
                f"NOT {_database(database)}",
                "CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING 'UTF8'",
                database,
                database,
            ),
            f"REVOKE ALL ON DATABASE {pg_name(database)} FROM PUBLIC;",
            f"\\connect {database}",
            f"ALTER SCHEMA public OWNER TO {pg_name(database)};",
            f"\\connect {self.admin_db(server)}",
            f"SELECT 'hostdeck-size {int(ref)} ' || pg_database_size({pg_string(database)});",
        ]

    def save_user(self, server: Server, user: DatabaseUser, secret: str | None) -> list[str]:
        role = name(user.name)
        if secret is not None:
            statements = [
                _if(f"NOT {_role(role)}", "CREATE ROLE %I LOGIN", role),
                f"ALTER ROLE {pg_name(role)} PASSWORD {pg_string(secret)};",
            ]
        else:
            statements = [MISSING.format(user=pg_string(role))]
        statements.append(f"ALTER ROLE {pg_name(role)} {'LOGIN' if active(user) else 'NOLOGIN'};")
        wanted = granted(user)
        for database in account_databases(user, self.engine):
            db_name = name(database.name)
            if db_name in wanted:
                statements += [
                    _if(_role(db_name), "GRANT %I TO %I", db_name, role),
                    _if(_database(db_name), "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", db_name, role),
                    _if(_database(db_name), "ALTER ROLE %I IN DATABASE %I SET role = %L", role, db_name, db_name),
                ]
            else:
                statements += [
                    _if(_role(db_name), "REVOKE %I FROM %I", db_name, role),
                    _if(_database(db_name), "REVOKE ALL ON DATABASE %I FROM %I", db_name, role),
                    _if(_database(db_name), "ALTER ROLE %I IN DATABASE %I RESET role", role, db_name),
                ]
        return statements

    def delete_database(self, server: Server, payload: dict[str, Any]) -> list[str]:
        database = name(payload["name"])
        return [
            f"DROP DATABASE IF EXISTS {pg_name(database)} WITH (FORCE);",
            f"DROP ROLE IF EXISTS {pg_name(database)};",
        ]

    def delete_user(self, server: Server, payload: dict[str, Any]) -> list[str]:
        role = name(payload["name"])
        statements = []
        for database in map(name, payload.get("databases", [])):
            # What the user still owns in each database goes to the database's owner role.
            statements += [
                f"SELECT {_database(database)} AND {_role(role)} AND {_role(database)} AS hostdeck_ok \\gset",
                "\\if :hostdeck_ok",
                f"\\connect {database}",
                f"REASSIGN OWNED BY {pg_name(role)} TO {pg_name(database)};",
                f"DROP OWNED BY {pg_name(role)};",
                f"\\connect {self.admin_db(server)}",
                "\\endif",
            ]
        statements += [_if(_role(role), "DROP OWNED BY %I", role), f"DROP ROLE IF EXISTS {pg_name(role)};"]
        return statements
