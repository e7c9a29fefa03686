"""Cases found in review: old passwords never come back, statuses sum up all servers, orphans only
when nobody holds the lock, one waiting job per server, no bound values in database errors."""

import os

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Account, Domain, Operation, OpState, Route, Server, Status
from portal.orchestration.dispatch import recover_orphans
from portal.orchestration.locks import redis_lock
from portal.orchestration.queue import queue
from tests.integration.conftest import mailbox, new_mailbox
from tests.integration.test_staff_logs import break_server, logs, staff_retry

P1, P2 = "first-password-1", "second-password-2"


def create(web, name="alice", password=P1):
    return new_mailbox(web, name, password)


def test_retrying_an_old_log_keeps_the_newer_password(web, client, acme, dovecot, work):
    break_server(acme, True)
    create(web)
    work()
    box = mailbox("alice@acme.test")
    assert box.status == Status.FAILED
    break_server(acme, False)
    web.submit(f"/mailboxes/{box.id}", {"password": P2, "confirm": P2}, post_url=f"/mailboxes/{box.id}/password")
    work()
    assert dovecot.wait_login("alice@acme.test", P2)
    staff_retry(client, web, logs()[0].id)  # the log that failed with P1
    work()
    assert dovecot.wait_login("alice@acme.test", P2)
    assert not dovecot.wait_login("alice@acme.test", P1, expect=False)
    assert db.session.scalar(sa.select(sa.func.count()).where(Operation.secret.is_not(None))) == 0


def test_a_later_change_takes_over_a_failed_password(web, acme, dovecot, work):
    """The failed P1 never reached the server; a later quota-only save delivers it."""
    break_server(acme, True)
    create(web)
    work()
    break_server(acme, False)
    box = mailbox("alice@acme.test")
    from portal.orchestration.operations import record

    box.quota_mb = 55
    record(box, "save")
    db.session.commit()
    work()
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P1)
    assert "storage=55M" in dovecot.passwd_file.read_text()


@pytest.fixture
def second_server(acme, tmp_path):
    """mail2: another Dovecot host (local transport), serving the same mailboxes."""
    server = Server(
        name="mail2",
        host="localhost",
        transport="local",
        settings={
            "dovecot_passwd_file": str(tmp_path / "mail2" / "users"),
            "mail_root": str(tmp_path / "mail2" / "vmail"),
            "mail_uid": os.getuid(),
            "mail_gid": os.getgid(),
            "dovecot_passwd_group": "",
        },
    )
    db.session.add_all([server, Route(backend="dovecot", server=server)])
    db.session.commit()
    return server


def test_status_sums_up_every_server(web, acme, second_server, dovecot, work):
    break_server(second_server, True)  # chgrp to a missing group fails on mail2 only
    create(web)  # one operation per server, both applied by the worker
    work()
    box = mailbox("alice@acme.test")
    assert dovecot.wait_login("alice@acme.test", P1)  # mail1 has it...
    assert box.status == Status.FAILED  # ...but mail2 refused, and the acme must know
    assert "mail2" in box.last_error

    web.submit(f"/mailboxes/{box.id}/delete", {})
    work()
    # mail1 deleted it, mail2 failed again: the mailbox stays, failed, until both are done.
    box = mailbox("alice@acme.test")
    assert box is not None and box.status == Status.FAILED
    assert "alice@acme.test" not in dovecot.passwd_file.read_text()


def test_orphans_only_when_nobody_holds_the_lock(app, acme):
    account = db.session.scalar(sa.select(Account))
    op = Operation(
        server_id=acme.id,
        backend="dovecot",
        object_type="Mailbox",
        object_id=1,
        action="save",
        payload={},
        account_id=account.id,
        state=OpState.RUNNING,
    )
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


def test_one_waiting_job_per_server(web, acme, queued, work):
    for name in ("a1", "a2", "a3"):
        create(web, name)
    assert queued() == 1
    work()
    assert all(mailbox(f"{n}@acme.test").status == Status.APPLIED for n in ("a1", "a2", "a3"))
    create(web, "a4")
    assert queued() == 1  # the marker went away when the job started


def test_database_errors_hide_bound_values(app, acme):
    """(PostgreSQL's own DETAIL may still quote a unique key; no secret column has one.)"""
    account = db.session.scalar(sa.select(Account))
    db.session.add(Domain(account=account, name="acme.test"))
    with pytest.raises(IntegrityError) as caught:
        db.session.commit()
    db.session.rollback()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)
