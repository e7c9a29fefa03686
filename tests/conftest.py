"""App, database and login fixtures shared by every test, and the servers that need no worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import Account, AccountKind, Base, Domain, Role, Route, SystemUser, User, usage
from portal.security.passwords import hash_password
from tests.helpers import (
    PASSWORD,
    IsolatedClient,
    Web,
    add_server,
    close_ssh_clients,
    enrol_totp,
    local_mail_server,
    scratch_database,
    ssh_server,
)
from tests.testbed.ports import free_port
from tests.testbed.sftp import SFTP_GROUP
from tests.testbed.smtp import SmtpServer
from tests.workers import Workers, worker_env

pytest_plugins = ["tests.testbed.plugin"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database of our own: on TEST_DATABASE_URL's PostgreSQL server, else a SQLite file."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with scratch_database(base, "hostdeck_test") as url:
        yield url


@pytest.fixture(scope="session")
def migrated(database_url):
    """The schema comes from the committed migrations, so they are tested too."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


@pytest.fixture
def app_config():
    """Overridden by test folders that need Redis, SSH and the rest."""
    return {}


@pytest.fixture
def app(migrated, app_config):
    """The portal on the test database, its app context open; after the test every table is emptied, and
    the usage counters must still match the rows."""
    config = {
        "TESTING": True,
        "DATABASE_URL": migrated,
        "SECRET_KEY": "test-secret",
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        **app_config,
    }
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        drifted = usage.drift(db.session)
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()
        # Whatever the test did, the usage counters followed the rows.
        assert drifted == [], f"usage counters drifted from the rows: {drifted}"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def web(client):
    return Web(client)


@pytest.fixture
def make_account():
    """An account with its owner's login (name@owner.test unless given) and its domains."""

    def make(
        name: str,
        *,
        kind: str = "customer",
        parent: Account | None = None,
        email: str | None = None,
        domains: tuple[str, ...] = (),
    ) -> Account:
        account = Account(name=name, kind=AccountKind(kind), parent=parent)
        db.session.add(account)
        db.session.add(
            User(
                email=email or f"{name.lower()}@owner.test",
                password_hash=hash_password(PASSWORD),
                role=Role.OWNER,
                account=account,
            )
        )
        for domain in domains:
            db.session.add(Domain(account=account, name=domain))
        db.session.commit()
        return account

    return make


@pytest.fixture
def make_staff():
    """A staff member (or admin) who has set up two-factor login."""

    def make(email: str = "staff@hostdeck.test", role: Role = Role.STAFF) -> User:
        user = User(email=email, password_hash=hash_password(PASSWORD), role=role)
        db.session.add(user)
        enrol_totp(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def local_server(tmp_path):
    """A server on the local transport, writing its passwd-file under tmp_path."""
    return add_server(local_mail_server("local1", tmp_path), "dovecot")


@pytest.fixture
def web_server(app, sshd):
    """web1: the test machine itself, reached over the test sshd, homes in a root-owned folder."""
    # A chroot's every parent must be root-owned and not writable by others: not under /tmp.
    homes = Path("/var/lib/hostdeck-test-homes") / uuid.uuid4().hex[:8]
    homes.mkdir(parents=True, mode=0o755)
    homes.parent.chmod(0o755)
    server = add_server(ssh_server("web1", sshd, web_home_root=str(homes), sftp_group=SFTP_GROUP), "unix")
    yield server
    close_ssh_clients()  # userdel refuses a user with a session
    for name in db.session.scalars(sa.select(SystemUser.name)):
        subprocess.run(["userdel", name], capture_output=True)
    shutil.rmtree(homes, ignore_errors=True)


@pytest.fixture
def webstack(web_server, nginx, phpfpm):
    """web1 also runs the test nginx and PHP-FPM; the sites and pools the test made are removed after."""
    web_server.settings = {
        **web_server.settings,
        "nginx_sites_dir": str(nginx.sites_dir),
        "nginx_config": str(nginx.conf_path),
        "nginx_listen": nginx.listen,
        "nginx_listen_https": f"127.0.0.1:{free_port()}",
        "nginx_ssl_dir": str(nginx.root / "ssl"),
        "nginx_usage_log_dir": str(nginx.root / "usage"),
        "phpfpm_pools_dir": str(phpfpm.pools_dir),
        "phpfpm_socket_dir": str(phpfpm.root),
        "phpfpm_binary": str(phpfpm.binary),
        "phpfpm_config": str(phpfpm.conf_path),
        "phpfpm_pid_file": str(phpfpm.pid_path),
        "php_versions": ["8.2"],
    }
    db.session.add_all([Route(backend="phpfpm", server=web_server), Route(backend="nginx", server=web_server)])
    db.session.commit()
    yield web_server
    for folder in (nginx.sites_dir, phpfpm.pools_dir):
        for path in folder.glob("hostdeck-*"):
            path.unlink()
    phpfpm.reload()
    nginx.reload()


@pytest.fixture
def workers(app, redis_server, tmp_path):
    """`flask worker` processes, as an operator runs them; all stopped after the test."""
    pool = Workers(worker_env(app, redis_server.url), tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (aiosmtpd); what it received is in .messages."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
