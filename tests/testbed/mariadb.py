"""The machine's MariaDB (127.0.0.1:3306, root without a password), used as the tests find it.

Tests name everything with a per-run prefix, and `forget()` drops what a run (or an earlier,
crashed run) left behind. The general log is switched on only inside `general_log()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

HOST, PORT = "127.0.0.1", 3306
TEST_NAMES = re.compile(r"^t[0-9a-f]{6}[0-9]*_")


class MariaDb:
    host, port = HOST, PORT

    def connect(self, user: str = "root", password: str = "", database: str | None = None):
        import pymysql

        # UTF-8, as the mariadb client and PHP send it (PyMySQL would send str as latin-1).
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password.encode(),
            database=database,
            connect_timeout=5,
            autocommit=True,
        )

    def query(self, sql: str, *args) -> list[tuple]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, args or None)
            return list(cur.fetchall())

    def reachable(self) -> bool:
        try:
            self.query("SELECT 1")
        except Exception:
            return False
        return True

    def ensure_ed25519(self) -> None:
        if not self.query(
            "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519' AND PLUGIN_STATUS = 'ACTIVE'"
        ):
            self.query("INSTALL SONAME 'auth_ed25519'")

    def forget(self) -> None:
        """Drop the databases and users the tests made."""
        for (name,) in self.query("SHOW DATABASES"):
            if TEST_NAMES.match(name):
                self.query(f"DROP DATABASE IF EXISTS `{name}`")
        for user, host in self.query("SELECT User, Host FROM mysql.user"):
            if TEST_NAMES.match(user):
                self.query("DROP USER IF EXISTS %s@%s", user, host)

    @contextmanager
    def general_log(self) -> Iterator[callable]:
        """Log every statement to mysql.general_log while inside; yields a reader of that log."""
        before = self.query("SELECT @@global.general_log, @@global.log_output")[0]
        self.query("SET GLOBAL log_output = 'TABLE'")
        self.query("SET GLOBAL general_log = 'ON'")
        try:
            yield lambda: "\n".join(
                str(row[0]) for row in self.query("SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log")
            )
        finally:
            self.query("SET GLOBAL general_log = %s", "ON" if before[0] else "OFF")
            self.query(f"SET GLOBAL log_output = '{before[1]}'")
            self.query("TRUNCATE TABLE mysql.general_log")
