"""One script per request and server; one script per server at a time, in recorded order."""

import itertools

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Mailbox, Operation, OpState, Status, User
from portal.security.scoping import Actor
from portal.services.mailboxes import create_mailbox
from tests.integration.conftest import domain_id, mailbox, new_mailbox, wait_for


def customer_actor(email="acme@owner.test") -> Actor:
    return Actor(user=db.session.scalar(sa.select(User).where(User.email == email)))


def test_hundred_creations_in_one_request_are_one_exec(make_account, mail_server, dovecot, sshd, work, queued):
    make_account("Acme", domains=("acme.test",))
    actor = customer_actor()
    for i in range(100):
        create_mailbox(
            actor, local_part=f"user{i}", domain_id=domain_id("acme.test"), password="pw-0123456789", quota_mb=100
        )
    db.session.commit()  # what a request does, once
    assert queued() == 1
    log_start = len(sshd.log_text())

    work()

    entry = db.session.scalars(sa.select(BackendLog)).one()
    assert entry.state == LogState.SUCCESS
    assert len(entry.operations) == 100
    assert entry.script.count('mv -f "$hd_tmp" "$hd_passwd"') == 1  # one commit phase for the backend
    assert sshd.log_text()[log_start:].count("Starting session") == 1
    assert len(dovecot.passwd_file.read_text().splitlines()) == 100
    assert db.session.scalar(sa.select(sa.func.count()).where(Mailbox.status == Status.APPLIED)) == 100


def test_connection_is_reused_across_jobs(web, make_account, mail_server, dovecot, sshd, work):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    log_start = len(sshd.log_text())
    for name in ("one", "two", "three"):
        web.submit(
            "/mailboxes/new",
            {
                "local_part": name,
                "domain_id": domain_id("acme.test"),
                "password": "pw-0123456789",
                "confirm": "pw-0123456789",
                "quota_mb": 10,
            },
        )
        work()
    log = sshd.log_text()[log_start:]
    assert log.count("Starting session") == 3
    assert log.count("Accepted publickey") == 1


def test_twenty_rapid_changes_end_in_the_latest_state(web, make_account, mail_server, dovecot, work, workers):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    web.submit(
        "/mailboxes/new",
        {
            "local_part": "alice",
            "domain_id": domain_id("acme.test"),
            "password": "first-password",
            "confirm": "first-password",
            "quota_mb": 10,
        },
    )
    work()
    box = mailbox("alice@acme.test")
    for _ in range(2):  # two workers compete for the server
        workers.start()
    page = f"/mailboxes/{box.id}"
    passwords = [f"password-number-{i:02d}" for i in range(20)]
    token = web.token(page)
    for password in passwords:
        response = web.client.post(
            f"{page}/password", data={"password": password, "confirm": password, "csrf_token": token}
        )
        assert response.status_code == 302

    assert dovecot.wait_login("alice@acme.test", passwords[-1], timeout=30)
    assert not dovecot.wait_login("alice@acme.test", passwords[-2], expect=False)
    wait_for(
        lambda: (
            not db.session.scalar(
                sa.select(sa.func.count()).where(Operation.state.in_((OpState.PENDING, OpState.RUNNING)))
            )
        ),
        timeout=30,
        what="all operations to settle",
    )
    logs = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.started_at)).all()
    assert all(entry.state == LogState.SUCCESS for entry in logs)
    for earlier, later in itertools.pairwise(logs):
        assert earlier.finished_at <= later.started_at, "two scripts ran on one server at once"
    applied = db.session.scalars(
        sa.select(Operation.id).where(Operation.state == OpState.APPLIED).order_by(Operation.id)
    ).all()
    assert applied[-1] == db.session.scalar(sa.select(sa.func.max(Operation.id)))
    db.session.refresh(box)
    assert box.status == Status.APPLIED


def test_a_dropped_connection_is_replaced(web, make_account, mail_server, dovecot, sshd, work):
    """The pooled connection dies with its server (restart, network): the next job reconnects."""
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "before")
    work()
    sshd.stop()
    sshd.start()  # same port and host key
    log_start = len(sshd.log_text())
    new_mailbox(web, "after")
    work()
    assert mailbox("after@acme.test").status == Status.APPLIED
    assert sshd.log_text()[log_start:].count("Accepted publickey") == 1
    assert [e.state for e in db.session.scalars(sa.select(BackendLog))] == [LogState.SUCCESS] * 2
