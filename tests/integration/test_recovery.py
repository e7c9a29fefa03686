"""Nothing is lost: not when Redis is down, not when a worker is killed mid-script (its work is redone
once nobody holds the server's lock), not when a change failed (a later one delivers its password)."""

import os
import signal

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Status
from portal.orchestration.dispatch import recover_orphans
from portal.orchestration.locks import redis_lock
from portal.orchestration.operations import record
from portal.orchestration.queue import queue
from tests.helpers import (
    MAILBOX_PASSWORD,
    account_named,
    break_server,
    failed_mailbox,
    mailbox,
    mailbox_operation,
    new_mailbox,
    passwd_file_locked,
    wait_for,
)

P1 = "first-password-1"


def test_redis_down_then_up(web, make_account, mail_server, dovecot, redis_server, work, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    redis_server.stop()

    assert new_mailbox(web, "alice").status_code == 302
    box = mailbox("alice@acme.test")
    assert box.status == Status.PENDING
    assert "Pending" in web.get(f"/mailboxes/{box.id}").get_data(as_text=True)

    redis_server.start()
    result = app.test_cli_runner().invoke(args=["orchestration", "sweep"])
    assert "enqueued 1 server(s)" in result.output
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", MAILBOX_PASSWORD)


def test_worker_killed_mid_script(web, make_account, mail_server, dovecot, workers, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    with passwd_file_locked(dovecot):  # the script blocks on the server
        new_mailbox(web, "alice")
        doomed = workers.start()
        wait_for(lambda: db.session.scalar(sa.select(Operation.state)) == OpState.RUNNING)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    # A new worker sweeps: once the dead worker's lock lapses, its work is redone.
    workers.start()
    wait_for(lambda: (m := mailbox("alice@acme.test")) is not None and m.status == Status.APPLIED, timeout=30)

    assert dovecot.wait_login("alice@acme.test", MAILBOX_PASSWORD)
    assert dovecot.passwd_file.read_text().count("alice@acme.test:") == 1
    states = db.session.scalars(sa.select(BackendLog.state).order_by(BackendLog.id)).all()
    assert states == [LogState.ERROR, LogState.SUCCESS]
    first = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id)).first()
    assert "worker stopped" in first.error
    assert db.session.scalar(sa.select(Operation.secret)) is None


def test_orphans_only_when_nobody_holds_the_lock(app, acme):
    op = mailbox_operation(acme.id, 1, account_id=account_named("Acme").id, state=OpState.RUNNING)
    db.session.add(op)
    db.session.commit()
    lock = redis_lock(queue(app).connection, acme.id)
    assert lock.acquire()
    assert recover_orphans() == 0  # a live job holds it
    db.session.refresh(op)
    assert op.state == OpState.RUNNING
    lock.release()
    assert recover_orphans() == 1
    db.session.refresh(op)
    assert op.state == OpState.PENDING


def test_a_later_change_takes_over_a_failed_password(web, acme, dovecot, work):
    """The failed P1 never reached the server; a later quota-only save delivers it."""
    box = failed_mailbox(web, acme, work, "alice", P1)
    break_server(acme, False)
    box.quota_mb = 55
    record(box, "save")
    db.session.commit()
    work()
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P1)
    assert "storage=55M" in dovecot.passwd_file.read_text()
