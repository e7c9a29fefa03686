"""A customer creates a mailbox, changes its password and deletes it, all through the forms;
a real worker applies each change over SSH to a real Dovecot, checked with IMAP LOGIN."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Mailbox, Operation, Status
from tests.integration.conftest import domain_id, mailbox

P1, P2 = "first-Pässword-1", "second password 2"


def test_create_change_delete(web, make_account, mail_server, dovecot, work, queued):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")

    created = web.submit(
        "/mailboxes/new",
        {"local_part": "alice", "domain_id": domain_id("acme.test"), "password": P1, "confirm": P1, "quota_mb": 200},
    )
    assert created.status_code == 302
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
    changed = web.submit(page, {"password": P2, "confirm": P2}, post_url=f"{page}/password")
    assert changed.status_code == 302
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
    assert db.session.scalar(sa.select(sa.func.count()).where(Operation.secret.is_not(None))) == 0


def test_concurrent_mailboxes_keep_each_other(web, make_account, mail_server, dovecot, work):
    """Two changes applied by separate jobs both stay in the passwd-file."""
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    for name in ("bob", "carol"):
        web.submit(
            "/mailboxes/new",
            {"local_part": name, "domain_id": domain_id("acme.test"), "password": P1, "confirm": P1, "quota_mb": 100},
        )
    work()
    assert dovecot.wait_login("bob@acme.test", P1)
    assert dovecot.wait_login("carol@acme.test", P1)
    assert all(m.status == Status.APPLIED for m in db.session.scalars(sa.select(Mailbox)))
