"""What the tests share besides fixtures: a client that goes through the forms, the steps a customer
takes again and again, rows found by name, servers built for the test services, and waits for what
happens a moment later."""

from __future__ import annotations

import contextvars
import fcntl
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import paramiko
import pyotp
import sqlalchemy as sa
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import (
    Account,
    BackendLog,
    Base,
    Domain,
    Mailbox,
    Operation,
    Route,
    Server,
    SystemUser,
    User,
    utcnow,
)
from portal.orchestration.ssh import parse_host_key
from portal.security import totp
from portal.security.scoping import Actor
from portal.services.tokens import create_token, scopes_for

PASSWORD = "correct horse battery"  # every login the tests make has it
MAILBOX_PASSWORD = "pw-Cobalt-meadow-58"
WEB_PASSWORD = "web-password-1"  # system users' (SFTP) password
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# The web client


@contextmanager
def scratch_database(base_url: str, prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own on base_url's server, dropped (sessions and all) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
            user = user_named(email)
            # Tests log the same person in many times within one 30-second step; a real code is
            # refused on reuse, so forget the last one (tests/integration/test_two_factor.py checks that rule).
            user.totp_last_step = None
            db.session.commit()
            response = self.submit("/login/two-factor", {"code": totp_now(user)})
            assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.submit("/", {}, post_url="/logout")

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)


def logged_in(client) -> bool:
    """Whether the client's session is a login: the account page needs one."""
    return client.get("/account/").status_code == 200


def totp_now(user: User) -> str:
    """The code the user's authenticator app shows now."""
    return pyotp.TOTP(totp.seed_of(user)).now()


def enrol_totp(user: User) -> None:
    totp.begin_enrolment(user)
    user.totp_enabled = True


# Rows by name


def user_named(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def account_named(name: str) -> Account | None:
    return db.session.scalar(sa.select(Account).where(Account.name == name))


def domain_named(name: str) -> Domain | None:
    return db.session.scalar(sa.select(Domain).where(Domain.name == name))


def domain_id(name: str) -> int:
    return db.session.scalar(sa.select(Domain.id).where(Domain.name == name))


def mailbox(address: str) -> Mailbox | None:
    local, _, domain = address.partition("@")
    return db.session.scalars(
        sa.select(Mailbox).join(Mailbox.domain).where(Mailbox.local_part == local, Domain.name == domain)
    ).first()


def count(model, *where) -> int:
    """How many rows of model (that match where)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def dump_database() -> str:
    """Every row of every table, to look for what must not be stored."""
    with db.engine.connect() as conn:
        return "\n".join(
            repr(tuple(row)) for table in Base.metadata.sorted_tables for row in conn.execute(table.select())
        )


def mailbox_operation(server_id: int, mailbox_id: int, action: str = "save", **fields) -> Operation:
    """A Dovecot operation on a mailbox, written straight to the database (fields: state, account_id...)."""
    return Operation(
        server_id=server_id,
        backend="dovecot",
        object_type="Mailbox",
        object_id=mailbox_id,
        action=action,
        payload={},
        **fields,
    )


def customer_actor(email: str = "acme@owner.test") -> Actor:
    """The owner as the services see them, for calling a service without a request."""
    return Actor(user=user_named(email))


# A customer's steps, through the forms


def new_mailbox(
    web,
    name: str,
    password: str = MAILBOX_PASSWORD,
    domain: str = "acme.test",
    quota: int = 10,
    with_address: bool = False,
    **fields,
):
    """Create a mailbox through the form, as the logged-in customer; fields replace the form's values."""
    data = {
        "local_part": name,
        "domain_id": domain_id(domain),
        "password": password,
        "confirm": password,
        "quota_mb": quota,
    }
    if with_address:
        data["with_address"] = "y"
    return web.submit("/mailboxes/new", {**data, **fields})


def new_address(web, local: str, domain: str = "acme.test", mailboxes=(), forwards: str = "", catch_all=False):
    """Create an address through the form, delivering to the mailboxes (their addresses) and forwards."""
    data = {
        "local_part": local,
        "domain_id": domain_id(domain),
        "mailbox_ids": [mailbox(address).id for address in mailboxes],
        "forwards": forwards,
    }
    if catch_all:
        data["catch_all"] = "y"
    return web.submit("/addresses/new", data)


def change_password(web, page: str, password: str):
    """The change-password form on the page of a mailbox, a system user or a database user."""
    return web.submit(page, {"password": password, "confirm": password}, post_url=f"{page}/password")


def new_system_user(web, work, name: str = "web", password: str = WEB_PASSWORD) -> SystemUser:
    """An SFTP-only system user, created through the form and applied by the worker."""
    web.submit("/system-users/new", {"name": name, "password": password, "confirm": password, "shell": "sftp"})
    work()
    newest = sa.select(SystemUser).where(SystemUser.name.endswith(f"_{name}")).order_by(SystemUser.id.desc())
    return db.session.scalars(newest).first()


def new_web_app(web, user: SystemUser, name: str, kind: str = "php", **options):
    data = {
        "name": name,
        "system_user_id": user.id,
        "kind": kind,
        "php_version": "8.2",
        "memory_limit": "128M",
        "upload_max_filesize": "8M",
        "post_max_size": "8M",
        "max_execution_time": "30",
        "date_timezone": "UTC",
        **options,
    }
    return web.submit("/webapps/new", data)


def new_website(web, name: str, domain: str, app, more: str = "", **fields):
    """A website on domain and www.domain, app at its root (none: 0), more mounts one "path app" a line."""
    data = {"name": name, "domain_ids": [domain_id(domain)], "with_www": "y", "root_app": app.id if app else 0}
    return web.submit("/websites/new", {**data, "more_mounts": more, **fields})


# SSH clients the tests opened: closed after each test (close_ssh_clients), so that no session of a
# deleted user outlives it (useradd gives its uid to the next user, and userdel refuses a uid in use).
SSH_CLIENTS: list[paramiko.SSHClient] = []


def close_ssh_clients() -> None:
    while SSH_CLIENTS:
        SSH_CLIENTS.pop().close()


def sftp(sftpd, user: str, password=None, pkey=None) -> paramiko.SFTPClient | None:
    """An SFTP session, or None when the server refuses the login."""
    client = paramiko.SSHClient()
    SSH_CLIENTS.append(client)
    key = parse_host_key(sftpd.host_key_line)
    client.get_host_keys().add(f"[{sftpd.host}]:{sftpd.port}", key.get_name(), key)
    try:
        client.connect(
            sftpd.host,
            sftpd.port,
            username=user,
            password=password,
            pkey=pkey,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    except paramiko.AuthenticationException:
        return None
    return client.open_sftp()


def upload(sftpd, user: SystemUser, path: str, content: str, password: str = WEB_PASSWORD) -> None:
    session = sftp(sftpd, user.name, password)
    with session.open(path, "w") as handle:
        handle.write(content)
    session.close()


# Staff


def backend_logs() -> list[BackendLog]:
    """Every script run so far, oldest first."""
    return db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id)).all()


def staff_retry(web, log_id: int):
    """Log out, log in as staff@hostdeck.test and retry the log with the current state."""
    web.logout()
    web.login("staff@hostdeck.test")
    response = web.submit(f"/staff/logs/{log_id}", {}, post_url=f"/staff/logs/{log_id}/retry")
    assert response.status_code == 302
    return response


# Servers for the test services


def ssh_server(name: str, sshd, **settings) -> Server:
    """A server reached over the test sshd, with its host key pinned."""
    return Server(
        name=name,
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        transport="ssh",
        settings=settings,
    )


def dovecot_settings(dovecot) -> dict[str, object]:
    """The session's Dovecot: its passwd-file, and mail homes owned by vmail (5000)."""
    return {
        "dovecot_passwd_file": str(dovecot.passwd_file),
        "mail_root": str(dovecot.mail_root),
        "mail_uid": 5000,
        "mail_gid": 5000,
    }


def local_mail_server(name: str, root: Path, **settings) -> Server:
    """A server on the local transport, its passwd-file and mail homes under root, owned by us."""
    return Server(
        name=name,
        host="localhost",
        transport="local",
        settings={
            "dovecot_passwd_file": str(root / "dovecot" / "users"),
            "mail_root": str(root / "vmail"),
            "dovecot_passwd_group": "",
            "mail_uid": os.getuid(),
            "mail_gid": os.getgid(),
            **settings,
        },
    )


def add_server(server: Server, *backends: str) -> Server:
    """Store the server, routing each backend to it."""
    db.session.add_all([server, *(Route(backend=backend, server=server) for backend in backends)])
    db.session.commit()
    return server


def break_server(server: Server, broken: bool) -> None:
    """A group that does not exist makes the script fail (FAILURE) when it creates the passwd-file."""
    server.settings = {**server.settings, "dovecot_passwd_group": "no-such-group" if broken else "dovecot"}
    db.session.commit()


def failed_mailbox(web, server: Server, work, name: str, password: str) -> Mailbox:
    """name@acme.test, created while the server is broken: its script failed, and it stays broken."""
    break_server(server, True)
    new_mailbox(web, name, password)
    work()
    return mailbox(f"{name}@acme.test")


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


@contextmanager
def passwd_file_locked(dovecot):
    """Hold the lock the Dovecot script takes, so the script waits on the server."""
    with open(f"{dovecot.passwd_file}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Waits


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "a condition") -> None:
    """Poll the database (fresh each time) until predicate() holds; fail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_http(nginx, host: str, path: str, status: int, text: str | None = None, timeout: float = 10.0):
    """nginx and PHP-FPM reloads take effect a moment after they return: (status, body) once it answers so."""
    deadline = time.monotonic() + timeout
    while True:
        got = nginx.get(host, path)
        if got[0] == status and (text is None or text in got[1]):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{host}{path}: wanted {status} {text!r}, got {got[0]} {got[1][:200]!r}")
        time.sleep(0.1)


# The browser


def nav_to(page, label: str) -> None:
    """Follow a link of the sidebar's navigation (visible from 992 px, the browser tests' width)."""
    page.locator("#sidebar").get_by_role("link", name=label, exact=True).click()


def browser_new_mailbox(page, name: str, domain: str, password: str) -> None:
    """Fill in the new-mailbox form from the mailbox list, and send it."""
    nav_to(page, "Mailboxes")
    page.get_by_role("link", name="New mailbox").first.click()
    page.fill("input[name=local_part]", name)
    page.select_option("select[name=domain_id]", label=domain)
    page.fill("input[name=password]", password)
    page.fill("input[name=confirm]", password)
    page.click("input[type=submit][value='Create mailbox']")


@contextmanager
def counted():
    """The SQL statements run inside, as a list of their texts."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


def mailing_config(redis_server, sshd, smtp, **more) -> dict:
    """The integration tests' settings, with mail going to the test's SMTP server (aiosmtpd)."""
    return {
        "REDIS_URL": redis_server.url,
        "SSH_KEY_PATH": str(sshd.client_key_path),
        "RQ_QUEUE": "hostdeck-test",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        **more,
    }


def mail_body(message, subtype: str = "plain") -> str:
    """A received mail's text/<subtype> part, decoded."""
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode()
    raise AssertionError(f"no text/{subtype} part")


# The API


def api_token(email: str = "acme@owner.test", scopes=None, days: int = 30, **options) -> str:
    """A personal access token of the login, made as its owner makes one (every scope they may have
    unless told); committed. Returns the token, which is never seen again."""
    actor = Actor(user=user_named(email))
    _token, secret = create_token(
        actor,
        name=options.pop("name", "test"),
        scopes=scopes if scopes is not None else scopes_for(actor),
        expires_at=utcnow() + timedelta(days=days),
        **options,
    )
    db.session.commit()
    return secret


def bearer(token: str, **headers) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}
