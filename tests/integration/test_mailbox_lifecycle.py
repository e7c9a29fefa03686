"""A customer creates a mailbox, changes its password and deletes it, all through the forms;
a real worker applies each change over SSH to a real Dovecot, checked with IMAP LOGIN. A mailbox
served by two servers shows the status of both."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Mailbox, Operation, Status
from tests.helpers import add_server, break_server, change_password, count, local_mail_server, mailbox, new_mailbox

P1, P2 = "first-Pässword-1", "second password 2"


def test_create_change_delete(web, make_account, mail_server, dovecot, work, queued):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")

    assert new_mailbox(web, "alice", P1, quota=200).status_code == 302
    box = mailbox("alice@acme.test")
    assert box.status == Status.PENDING
    assert queued() == 1
    assert work() == 1
    db.session.refresh(box)
    assert box.status == Status.APPLIED, box.last_error
    assert dovecot.wait_login("alice@acme.test", P1)
    assert not dovecot.wait_login("alice@acme.test", P2, expect=False)
    assert "userdb_quota_rule=*:storage=200M" in dovecot.passwd_file.read_text()

    page = f"/mailboxes/{box.id}"
    assert change_password(web, page, P2).status_code == 302
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P2)
    assert not dovecot.wait_login("alice@acme.test", P1, expect=False)

    deleted = web.submit(f"{page}/delete", {})
    assert deleted.status_code == 302
    assert mailbox("alice@acme.test").status == Status.DELETING
    work()
    assert mailbox("alice@acme.test") is None
    assert not dovecot.wait_login("alice@acme.test", P2, expect=False)
    assert "alice@acme.test" not in dovecot.passwd_file.read_text()

    logs = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id)).all()
    assert [entry.state for entry in logs] == [LogState.SUCCESS] * 3
    # Every verifier was wiped once applied.
    assert count(Operation, Operation.secret.is_not(None)) == 0


def test_concurrent_mailboxes_keep_each_other(web, make_account, mail_server, dovecot, work):
    """Two changes applied by separate jobs both stay in the passwd-file."""
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    for name in ("bob", "carol"):
        new_mailbox(web, name, P1, quota=100)
    work()
    assert dovecot.wait_login("bob@acme.test", P1)
    assert dovecot.wait_login("carol@acme.test", P1)
    assert all(m.status == Status.APPLIED for m in db.session.scalars(sa.select(Mailbox)))


@pytest.fixture
def second_server(acme, tmp_path):
    """mail2: another Dovecot host (local transport), serving the same mailboxes."""
    return add_server(local_mail_server("mail2", tmp_path / "mail2"), "dovecot")


def test_status_sums_up_every_server(web, acme, second_server, dovecot, work):
    break_server(second_server, True)  # chgrp to a missing group fails on mail2 only
    new_mailbox(web, "alice", P1)  # one operation per server, both applied by the worker
    work()
    box = mailbox("alice@acme.test")
    assert dovecot.wait_login("alice@acme.test", P1)  # mail1 has it...
    assert box.status == Status.FAILED  # ...but mail2 refused, and the customer must know
    assert "mail2" in box.last_error

    web.submit(f"/mailboxes/{box.id}/delete", {})
    work()
    # mail1 deleted it, mail2 failed again: the mailbox stays, failed, until both are done.
    box = mailbox("alice@acme.test")
    assert box is not None and box.status == Status.FAILED
    assert "alice@acme.test" not in dovecot.passwd_file.read_text()
