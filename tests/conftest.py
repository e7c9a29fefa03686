"""App, database and login fixtures shared by every test."""

from __future__ import annotations

import contextvars
import os
import re
import shutil
import uuid
from contextlib import contextmanager

import pyotp
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import Account, AccountKind, Base, Domain, Role, Route, Server, User, usage
from portal.security import totp
from portal.security.passwords import hash_password
from tests.testbed.ports import free_port

pytest_plugins = ["tests.testbed.plugin"]

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database of our own: on TEST_DATABASE_URL's PostgreSQL server, else a SQLite file."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    name = f"hostdeck_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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


def page_text(response) -> str:
    """A response's HTML without its CSRF tokens, which are signed anew as time passes."""
    return CSRF.sub('name="csrf_token" type="hidden" value=""', response.get_data(as_text=True))


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, so its own `g` and DB session, as in production.

    Without this, requests would share the app context the test holds open.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()  # the test's own objects now show what the request did
        return response


@pytest.fixture
def app(migrated, app_config):
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
        _empty_tables()
        db.engine.dispose()
        # Whatever the test did, the usage counters followed the rows.
        assert drifted == [], f"usage counters drifted from the rows: {drifted}"


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


class Web:
    """A test client that goes through the forms, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def token(self, url: str) -> str:
        page = self.client.get(url)
        found = CSRF.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {url} ({page.status_code})"
        return found.group(1)

    def submit(self, form_url: str, data: dict, post_url: str | None = None, **kw):
        data = {**data, "csrf_token": self.token(form_url)}
        return self.client.post(post_url or form_url, data=data, **kw)

    def login(self, email: str, password: str = PASSWORD):
        """Log in; with two-factor login on, type the code the user's app shows now."""
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        if response.location.endswith("/login/two-factor"):
            user = db.session.scalar(sa.select(User).where(User.email == email))
            # Tests log the same person in many times within one 30-second step; a real code is
            # refused on reuse, so forget the last one (tests/integration/test_two_factor.py checks that rule).
            user.totp_last_step = None
            db.session.commit()
            response = self.submit("/login/two-factor", {"code": totp_now(user)})
            assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)


@pytest.fixture
def web(client):
    return Web(client)


@pytest.fixture
def make_account():
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


@contextmanager
def postfix_on(server: Server, postfix):
    """The server also runs the test Postfix (its maps and config folder); the maps are emptied after."""
    server.settings = {
        **server.settings,
        "postfix_maps_dir": str(postfix.maps_dir),
        "postfix_config_dir": str(postfix.config_dir),
    }
    db.session.add(Route(backend="postfix", server=server))
    db.session.commit()
    try:
        yield postfix
    finally:
        for name in ("domains", "aliases", "mailboxes", "private"):
            postfix.write_map(name, [])
        postfix.reload()


def totp_now(user: User) -> str:
    """The code the user's authenticator app shows now."""
    return pyotp.TOTP(totp.seed_of(user)).now()


def enrol_totp(user: User) -> None:
    totp.begin_enrolment(user)
    user.totp_enabled = True


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
    server = Server(
        name="local1",
        host="localhost",
        transport="local",
        settings={
            "dovecot_passwd_file": str(tmp_path / "dovecot" / "users"),
            "mail_root": str(tmp_path / "vmail"),
            "dovecot_passwd_group": "",
            "mail_uid": os.getuid(),
            "mail_gid": os.getgid(),
        },
    )
    db.session.add_all([server, Route(backend="dovecot", server=server)])
    db.session.commit()
    return server


@pytest.fixture(scope="session")
def sftpd(tmp_path_factory):
    """The sshd hosting users log in to: passwords allowed, SFTP-only users chrooted."""
    import subprocess

    from tests.testbed.plugin import need_root, running
    from tests.testbed.sftp import SFTP_GROUP, SftpSshd

    need_root("system users (useradd) and a chrooting sshd")
    subprocess.run(["sh", "-c", f"getent group {SFTP_GROUP} >/dev/null || groupadd --system {SFTP_GROUP}"], check=True)
    with running(SftpSshd(tmp_path_factory.mktemp("sftpd"))) as server:
        yield server


@pytest.fixture
def web_server(app, sshd):
    """web1: the test machine itself, reached over the test sshd, homes in a root-owned folder."""
    import subprocess
    import uuid
    from pathlib import Path

    from portal.models import SystemUser

    # A chroot's every parent must be root-owned and not writable by others: not under /tmp.
    homes = Path("/var/lib/hostdeck-test-homes") / uuid.uuid4().hex[:8]
    homes.mkdir(parents=True, mode=0o755)
    homes.parent.chmod(0o755)
    server = Server(
        name="web1",
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        settings={"web_home_root": str(homes), "sftp_group": "hostdeck-sftp"},
    )
    db.session.add_all([server, Route(backend="unix", server=server)])
    db.session.commit()
    yield server
    for name in db.session.scalars(sa.select(SystemUser.name)):
        subprocess.run(["userdel", name], capture_output=True)
    shutil.rmtree(homes, ignore_errors=True)


@pytest.fixture
def webstack(web_server, nginx, phpfpm):
    web_server.settings = {
        **web_server.settings,
        "nginx_sites_dir": str(nginx.sites_dir),
        "nginx_config": str(nginx.conf_path),
        "nginx_listen": nginx.listen,
        "nginx_listen_https": f"127.0.0.1:{free_port()}",
        "nginx_ssl_dir": str(nginx.root / "ssl"),
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
