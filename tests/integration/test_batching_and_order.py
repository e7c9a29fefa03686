"""One script per request and server, one waiting job per server, and one script per server at a time,
in recorded order."""

import itertools

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Mailbox, Operation, OpState, Status
from portal.services.mailboxes import create_mailbox
from tests.helpers import count, customer_actor, domain_id, mailbox, new_mailbox, wait_for

P1 = "first-password-1"


def test_hundred_creations_in_one_request_are_one_exec(make_account, mail_server, dovecot, sshd, work, queued):
    make_account("Acme", domains=("acme.test",))
    actor = customer_actor()
    for i in range(100):
        create_mailbox(
            actor, local_part=f"user{i}", domain_id=domain_id("acme.test"), password="pw-Cobalt-meadow-58", quota_mb=100
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
    assert count(Mailbox, Mailbox.status == Status.APPLIED) == 100


def test_one_waiting_job_per_server(web, acme, queued, work):
    for name in ("a1", "a2", "a3"):
        new_mailbox(web, name, P1)
    assert queued() == 1
    work()
    assert all(mailbox(f"{n}@acme.test").status == Status.APPLIED for n in ("a1", "a2", "a3"))
    new_mailbox(web, "a4", P1)
    assert queued() == 1  # the marker went away when the job started


def test_twenty_rapid_changes_end_in_the_latest_state(web, make_account, mail_server, dovecot, work, workers):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice", "first-password")
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
        lambda: count(Operation, Operation.state.in_((OpState.PENDING, OpState.RUNNING))) == 0,
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
