"""Quoting for SQL sent to MariaDB and PostgreSQL, by each engine's own rules.

Names are validated long before they get here (lowercase letters, digits, _); these are the
second wall. The statements travel inside a script on stdin (see script.py), never in argv.
"""

from __future__ import annotations

from portal.orchestration.script import UnsafeValue


def _plain(value: str) -> str:
    if "\x00" in value or any(ord(c) < 32 for c in value):
        raise UnsafeValue("control characters cannot go into SQL")
    return value


def mariadb_name(value: str) -> str:
    """`identifier`: backticks doubled."""
    return "`" + _plain(value).replace("`", "``") + "`"


def mariadb_grant_name(value: str) -> str:
    """A database name in GRANT … ON `db`.*, where _ and % are wildcards unless escaped."""
    escaped = _plain(value).replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return "`" + escaped.replace("`", "``") + "`"


def mariadb_string(value: str) -> str:
    """'literal': quotes doubled and backslashes escaped (unless NO_BACKSLASH_ESCAPES, both read alike)."""
    return "'" + _plain(value).replace("\\", "\\\\").replace("'", "''") + "'"


def pg_name(value: str) -> str:
    """ "identifier": double quotes doubled."""
    return '"' + _plain(value).replace('"', '""') + '"'


def pg_string(value: str) -> str:
    """'literal' with standard_conforming_strings (on since PostgreSQL 9.1): quotes doubled."""
    if "\\" in value:
        raise UnsafeValue("backslashes are not sent to PostgreSQL")
    return "'" + _plain(value).replace("'", "''") + "'"
