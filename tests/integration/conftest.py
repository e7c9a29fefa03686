"""Real Redis, sshd and Dovecot, and a real RQ worker, for the tests in this folder; and the servers
and customers several of its files start from."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from portal.extensions import db
from portal.models import Route, WebApp
from portal.orchestration.queue import queue
from portal.orchestration.ssh import POOL
from tests.helpers import (
    add_server,
    close_ssh_clients,
    dovecot_settings,
    local_mail_server,
    new_mailbox,
    new_system_user,
    new_web_app,
    new_website,
    postfix_on,
    ssh_server,
    upload,
    wait_http,
)
from tests.testbed.bind import NAMED, Bind
from tests.testbed.managed_bind import ManagedBind
from tests.testbed.plugin import need, running


@pytest.fixture(scope="session")
def bind(tmp_path_factory):
    """A DNS server on loopback, authoritative for the zones customers prove their domains in."""
    need(Path(NAMED).exists(), "bind9 (named)")
    need("tsig-keygen", "bind9 (tsig-keygen)")
    with running(Bind(tmp_path_factory.mktemp("bind"), zones=("brightmail.org", "rival.net"))) as server:
        yield server


@pytest.fixture
def named(tmp_path):
    """A DNS server Hostdeck manages (tests/testbed/managed_bind.py): its own named on loopback."""
    need(Path(NAMED).exists(), "bind9 (named)")
    need("rndc", "bind9 (rndc)")
    with running(ManagedBind(tmp_path / "ns1")) as server:
        yield server


@pytest.fixture
def app_config(redis_server, sshd):
    return {
        "REDIS_URL": redis_server.url,
        "SSH_KEY_PATH": str(sshd.client_key_path),
        "RQ_QUEUE": "hostdeck-test",
        "SERVER_LOCK_TTL": 2,
    }


@pytest.fixture(autouse=True)
def _empty_redis(app_config, redis_server):
    yield
    if not redis_server.running:
        redis_server.start()
    redis_server.flushall()
    POOL.close_all()  # each test starts with fresh SSH connections
    close_ssh_clients()


@pytest.fixture
def mail_server(app, sshd, dovecot):
    """mail1: Dovecot behind the test sshd, reached with a pinned host key."""
    server = ssh_server("mail1", sshd, **dovecot_settings(dovecot), dovecot_scheme="SHA512-CRYPT")
    yield add_server(server, "dovecot")
    dovecot.passwd_file.write_text("")
    for home in dovecot.mail_root.iterdir():
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def mailhost(tmp_path):
    """mx1: a local server running Dovecot and Postfix maps (no Postfix daemon: nothing compiled)."""
    server = local_mail_server("mx1", tmp_path, postfix_maps_dir=str(tmp_path / "postfix"), postfix_postmap="")
    add_server(server, "dovecot", "postfix")
    return tmp_path


@pytest.fixture
def db_server(app, sshd, mariadb, postgres):
    """db1: MariaDB and PostgreSQL behind the test sshd, reached with a pinned host key."""
    server = ssh_server(
        "db1",
        sshd,
        mariadb_host=mariadb.host,
        mariadb_port=mariadb.port,
        mariadb_admin="root",
        mariadb_user_host="127.0.0.1",
        **postgres.settings(),
    )
    return add_server(server, "mariadb", "postgresql")


@pytest.fixture
def row_locks(database_url):
    """The test needs PostgreSQL: SQLite has no row locks."""
    need(database_url.startswith("postgresql"), "PostgreSQL (TEST_DATABASE_URL) for row locks")


@pytest.fixture
def work(app):
    """Run a burst worker in its own app context (its own DB session), as a separate worker would."""

    def run() -> int:
        q = queue(app)
        jobs = q.count
        with app.app_context():
            SimpleWorker([q], connection=q.connection, serializer=q.serializer).work(burst=True)
        db.session.expire_all()
        return jobs

    return run


@pytest.fixture
def queued(app):
    """How many jobs wait in the queue."""
    return lambda: queue(app).count


@pytest.fixture
def acme(web, make_account, make_staff, mail_server, dovecot):
    """Customer Acme (acme.test) logged in, a staff login, and no passwd-file on mail1 yet."""
    dovecot.passwd_file.unlink()
    make_account("Acme", domains=("acme.test",))
    make_staff()
    web.login("acme@owner.test")
    yield mail_server
    dovecot.passwd_file.touch()


@pytest.fixture
def bakery(web, make_account, mail_server, webstack, dovecot, sftpd, nginx, work):
    """Reseller Resell (boss@resell.test, logged in) and its sub-account Bakery (bakery.test), set up from
    inside: mailbox orders@, SFTP user web and a static website that serves "fresh bread", all applied."""
    found = SimpleNamespace(mail_password="mail-password-1", sftp_password="sftp-password-1")
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    found.account = make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    web.login("boss@resell.test")
    web.submit("/", {"account_id": found.account.id}, post_url="/reseller/switch")
    new_mailbox(web, "orders", found.mail_password, domain="bakery.test")
    found.user = new_system_user(web, work, "web", password=found.sftp_password)
    new_web_app(web, found.user, "site", kind="static")
    new_website(web, "Bakery", "bakery.test", db.session.scalar(sa.select(WebApp)))
    work()
    upload(sftpd, found.user, "/webapps/site/index.html", "fresh bread", password=found.sftp_password)
    wait_http(nginx, "bakery.test", "/", 200, "fresh bread")
    assert dovecot.wait_login("orders@bakery.test", found.mail_password)
    web.submit("/", {"account_id": 0}, post_url="/reseller/switch")
    return found


@pytest.fixture
def signer(app, mail_server, signing_postfix, opendkim):
    """mail1 runs Postfix (with the OpenDKIM milter) and OpenDKIM too; keys and tables emptied after."""
    mail_server.settings = {**mail_server.settings, **opendkim.settings}
    db.session.add(Route(backend="opendkim", server=mail_server))
    db.session.commit()
    with postfix_on(mail_server, signing_postfix):
        yield mail_server
    for table in opendkim.tables_paths():
        table.write_text("")
    for key in opendkim.key_files():
        key.unlink()
    os.kill(int(opendkim.pid_file.read_text()), 10)
