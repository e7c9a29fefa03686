"""docs/database-server.md's table of same-host MariaDB logins under skip_name_resolve, checked: a user
the portal creates with each mariadb_user_host, applied by a real worker over SSH to the machine's
MariaDB, then a login over the socket and one over TCP to 127.0.0.1."""

import re
import secrets
from pathlib import Path

import pymysql
import pytest

from portal.models import Account
from portal.models.accounts import name_prefix
from tests.helpers import add_server, ssh_server
from tests.testbed.plugin import need

ROOT = Path(__file__).resolve().parents[2]
RUN = "t" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))
PASSWORD = "same-Host-login-64"
HOSTS = {"localhost": "a", "127.0.0.1": "b", "%": "c"}  # and a letter for each one's account


def documented() -> dict[str, dict[str, bool]]:
    """user host -> {"socket": logs in?, "tcp": logs in?}, from the table in the docs."""
    text = (ROOT / "docs" / "database-server.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| (logs in|refused)[^|]*\| (logs in|refused)[^|]*\|$", text, re.M)
    return {host: {"socket": socket == "logs in", "tcp": tcp == "logs in"} for host, socket, tcp in rows}


def logs_in(user: str, **where) -> bool:
    try:
        pymysql.connect(user=user, password=PASSWORD.encode(), connect_timeout=5, **where).close()
    except pymysql.MySQLError as exc:
        # Access denied, and nothing else: 1045, or 1698 when MariaDB matched another account's plugin
        # (seen once in CI for a TCP login to a 'localhost' user).
        assert exc.args[0] in (1045, 1698), exc
        return False
    return True


def test_the_docs_table_has_a_row_for_each_host():
    assert set(documented()) == set(HOSTS)


@pytest.mark.parametrize("user_host", HOSTS)
def test_same_host_logins_are_as_the_docs_say(user_host, sshd, mariadb, make_account, web, work):
    ((skip_name_resolve, socket),) = mariadb.query("SELECT @@skip_name_resolve, @@socket")
    need(skip_name_resolve == 1, "the machine's MariaDB with skip_name_resolve = ON")
    need(Path(socket).is_socket(), f"MariaDB's socket {socket}")
    server = ssh_server(
        "db1",
        sshd,
        mariadb_host=mariadb.host,
        mariadb_port=mariadb.port,
        mariadb_admin="root",
        mariadb_user_host=user_host,
        mariadb_auth="mysql_native_password",  # what PHP's mysqlnd speaks
    )
    add_server(server, "mariadb")
    account: Account = make_account(RUN + HOSTS[user_host])
    web.login(f"{account.name}@owner.test")
    form = {"engine": "mariadb", "name": "app", "password": PASSWORD, "confirm": PASSWORD, "databases": []}
    assert web.submit("/databases/users/new", form).status_code == 302
    user = f"{name_prefix(account.name, account.id)}_app"
    try:
        assert work() == 1
        assert mariadb.query("SELECT Host FROM mysql.user WHERE User = %s", user) == [(user_host,)]
        seen = {"socket": logs_in(user, unix_socket=socket), "tcp": logs_in(user, host="127.0.0.1", port=mariadb.port)}
        assert seen == documented()[user_host]
    finally:
        mariadb.query("DROP USER IF EXISTS %s@%s", user, user_host)
