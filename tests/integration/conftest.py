"""Real Redis, sshd and Dovecot, and a real RQ worker, for the tests in this folder."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from portal.extensions import db
from portal.models import Domain, Mailbox, Route, Server
from portal.orchestration.queue import queue
from portal.orchestration.ssh import POOL


@pytest.fixture
def app_config(redis_server, sshd):
    return {
        "REDIS_URL": redis_server.url,
        "SSH_KEY_PATH": str(sshd.client_key_path),
        "RQ_QUEUE": "hostdeck-test",
        "SERVER_LOCK_TTL": 2,
    }


@pytest.fixture
def workers(app, redis_server, tmp_path):
    """Worker processes; all stopped after the test."""
    from tests.workers import Workers, worker_env

    pool = Workers(worker_env(app, redis_server.url), tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture(autouse=True)
def _empty_redis(app_config, redis_server):
    yield
    if not redis_server.running:
        redis_server.start()
    redis_server.flushall()
    POOL.close_all()  # each test starts with fresh SSH connections


@pytest.fixture
def mail_server(app, sshd, dovecot):
    """mail1: Dovecot behind the test sshd, reached with a pinned host key."""
    server = Server(
        name="mail1",
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        transport="ssh",
        settings={
            "dovecot_passwd_file": str(dovecot.passwd_file),
            "dovecot_scheme": "SHA512-CRYPT",
            "mail_root": str(dovecot.mail_root),
            "mail_uid": 5000,
            "mail_gid": 5000,
        },
    )
    db.session.add_all([server, Route(backend="dovecot", server=server)])
    db.session.commit()
    yield server
    dovecot.passwd_file.write_text("")
    for home in dovecot.mail_root.iterdir():
        shutil.rmtree(home, ignore_errors=True)


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


def mailbox(address: str) -> Mailbox | None:
    local, _, domain = address.partition("@")
    return db.session.scalars(
        sa.select(Mailbox).join(Mailbox.domain).where(Mailbox.local_part == local, Domain.name == domain)
    ).first()


def domain_id(name: str) -> int:
    return db.session.scalar(sa.select(Domain.id).where(Domain.name == name))


def new_mailbox(web, name: str, password: str = "pw-0123456789", domain: str = "acme.test", quota: int = 10):
    """Create a mailbox through the form, as the logged-in customer."""
    return web.submit(
        "/mailboxes/new",
        {
            "local_part": name,
            "domain_id": domain_id(domain),
            "password": password,
            "confirm": password,
            "quota_mb": quota,
        },
    )


def wait_for(predicate, timeout: float = 20.0, what: str = "a condition") -> None:
    """Poll the database (fresh each time) until predicate() holds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def acme(web, make_account, make_staff, mail_server, dovecot):
    """Customer Acme (acme.test) logged in, a staff login, and no passwd-file on mail1 yet."""
    dovecot.passwd_file.unlink()
    make_account("Acme", domains=("acme.test",))
    make_staff()
    web.login("acme@owner.test")
    yield mail_server
    dovecot.passwd_file.touch()
