"""How a worker reaches a server over SSH: one connection per server, reused across jobs and replaced
when it dies; and a server whose host key no longer matches the pinned one gets nothing run on it."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Status
from tests.helpers import mailbox, new_mailbox
from tests.testbed.sshd import other_host_key_line


def test_changed_host_key_fails_before_running_anything(web, make_account, mail_server, dovecot, sshd, work):
    mail_server.host_key = other_host_key_line()
    db.session.commit()
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    log_before = len(sshd.log_text())

    new_mailbox(web, "alice", quota=100)
    work()

    box = mailbox("alice@acme.test")
    assert box.status == Status.FAILED
    assert "host key" in box.last_error
    entry = db.session.scalars(sa.select(BackendLog)).one()
    assert entry.state == LogState.ERROR
    assert "host key of mail1 changed" in entry.error
    assert entry.exit_code is None and entry.stdout == ""
    assert "alice@acme.test" not in (dovecot.passwd_file.read_text() if dovecot.passwd_file.exists() else "")
    assert "Accepted publickey" not in sshd.log_text()[log_before:]
    page = web.get(f"/mailboxes/{box.id}").get_data(as_text=True)
    # The customer reads plain words; the host key and the server's name stay on the staff log page.
    assert "Failed" in page and "could not be reached" in page
    assert "host key" not in page and "mail1" not in page


def test_connection_is_reused_across_jobs(web, make_account, mail_server, dovecot, sshd, work):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    log_start = len(sshd.log_text())
    for name in ("one", "two", "three"):
        new_mailbox(web, name)
        work()
    log = sshd.log_text()[log_start:]
    assert log.count("Starting session") == 3
    assert log.count("Accepted publickey") == 1


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
