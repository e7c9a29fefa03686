"""MariaDB: databases, users and their grants, through the `mariadb` client on the server.

Server settings:
  mariadb_client         the client (default "mariadb"); it runs as the SSH user
  mariadb_defaults_file  an option file with the admin login ([client] user=, password=), if the
                         SSH user is not the server's root over the socket
  mariadb_host, mariadb_port, mariadb_admin   where and as whom to connect, if not the socket
  mariadb_user_host      the host part of created users (default "localhost"; "%" or an address
                         when the web servers are elsewhere)
  mariadb_auth           how users log in: ed25519 (default), parsec (MariaDB 11.6+, the one that
                         is salted) or mysql_native_password (only when a client needs it: PHP's
                         stock mysqlnd speaks neither ed25519 nor parsec); the script installs
                         the plugin when the server lacks it
"""

from __future__ import annotations

from typing import Any

from portal.models import Database, DatabaseUser, Engine, Server
from portal.orchestration import verifiers
from portal.orchestration.backends.sql import SqlBackend, account_databases, active, granted, name
from portal.orchestration.script import q
from portal.orchestration.sql import mariadb_grant_name, mariadb_name, mariadb_string

# Re-saving a user without its password must not create one without a password.
MISSING = """DELIMITER //
BEGIN NOT ATOMIC
  IF NOT EXISTS (SELECT 1 FROM mysql.user WHERE User = {user} AND Host = {host}) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the user is missing on the server: set its password again';
  END IF;
END//
DELIMITER ;"""

# The server's plugin for each kind of verifier, loaded by the script if it is not yet.
PLUGINS = {"parsec": "auth_parsec", "ed25519": "auth_ed25519"}
INSTALL = """DELIMITER //
BEGIN NOT ATOMIC
  IF NOT EXISTS (SELECT 1 FROM information_schema.plugins WHERE plugin_name = {plugin} AND plugin_status = 'ACTIVE') THEN
    INSTALL SONAME {soname};
  END IF;
END//
DELIMITER ;"""


def auth_problem(auth: object) -> str | None:
    """What is wrong with a mariadb_auth setting, in words for the operator; None when it is fine."""
    if auth not in verifiers.MARIADB_AUTH:
        return f"mariadb_auth must be one of {', '.join(verifiers.MARIADB_AUTH)}, not {auth!r}"
    return None


class MariaDbBackend(SqlBackend):
    name = "mariadb"
    service = Engine.MARIADB.label
    engine = Engine.MARIADB

    def verifier(self, server: Server, plaintext: str) -> str:
        return verifiers.mariadb(self.auth(server), plaintext)

    @staticmethod
    def auth(server: Server) -> str:
        auth: str = server.setting("mariadb_auth", verifiers.MARIADB_DEFAULT_AUTH)
        problem = auth_problem(auth)
        if problem:
            raise ValueError(problem)
        return auth

    def client(self, server: Server) -> str:
        words = [q(server.setting("mariadb_client", "mariadb"))]
        if server.setting("mariadb_defaults_file"):  # the client wants this one first
            words.append(q(f"--defaults-extra-file={server.setting('mariadb_defaults_file')}"))
        words += ["--batch", "--skip-column-names"]
        for option, key in (("--host", "mariadb_host"), ("--port", "mariadb_port"), ("--user", "mariadb_admin")):
            if server.setting(key):
                words.append(q(f"{option}={server.setting(key)}"))
        return " ".join(words)

    def _account(self, server: Server, user_name: str) -> str:
        return f"{mariadb_string(name(user_name))}@{mariadb_string(server.setting('mariadb_user_host', 'localhost'))}"

    def save_database(self, server: Server, db: Database, ref: int) -> list[str]:
        return [
            (
                f"CREATE DATABASE IF NOT EXISTS {mariadb_name(name(db.name))} "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            ),
            (  # the name is quoted by mariadb_string(), as every value in SQL here
                f"SELECT CONCAT('hostdeck-size {int(ref)} ', COALESCE(SUM(data_length + index_length), 0)) "  # noqa: S608
                f"FROM information_schema.tables WHERE table_schema = {mariadb_string(db.name)};"
            ),
        ]

    def save_user(self, server: Server, user: DatabaseUser, secret: str | None) -> list[str]:
        account = self._account(server, user.name)
        if secret is not None:
            auth = verifiers.mariadb_auth_of(secret)  # what it was made for, whatever the setting says now
            how = f"IDENTIFIED VIA {auth} USING {mariadb_string(secret)}"  # the verifier, never PASSWORD('...')
            statements = [f"CREATE USER IF NOT EXISTS {account} {how};", f"ALTER USER {account} {how};"]
            if auth in PLUGINS:
                statements.insert(0, INSTALL.format(plugin=mariadb_string(auth), soname=mariadb_string(PLUGINS[auth])))
        else:
            statements = [
                MISSING.format(
                    user=mariadb_string(user.name),
                    host=mariadb_string(server.setting("mariadb_user_host", "localhost")),
                )
            ]
        # The grants are exactly the granted databases: all off, then each on again.
        statements.append(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account};")
        wanted = granted(user)
        for database in account_databases(user, self.engine):
            if database.name in wanted:
                statements.append(f"GRANT ALL PRIVILEGES ON {mariadb_grant_name(name(database.name))}.* TO {account};")
        statements.append(f"ALTER USER {account} ACCOUNT {'UNLOCK' if active(user) else 'LOCK'};")
        return statements

    def delete_database(self, server: Server, payload: dict[str, Any]) -> list[str]:
        return [f"DROP DATABASE IF EXISTS {mariadb_name(name(payload['name']))};"]

    def delete_user(self, server: Server, payload: dict[str, Any]) -> list[str]:
        return [f"DROP USER IF EXISTS {self._account(server, payload['name'])};"]
