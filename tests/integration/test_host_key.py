"""A server whose host key no longer matches the pinned one gets nothing run on it."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Status
from tests.integration.conftest import domain_id, mailbox
from tests.testbed.sshd import other_host_key_line


def test_changed_host_key_fails_before_running_anything(web, make_account, mail_server, dovecot, sshd, work):
    mail_server.host_key = other_host_key_line()
    db.session.commit()
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    log_before = len(sshd.log_text())

    web.submit(
        "/mailboxes/new",
        {
            "local_part": "alice",
            "domain_id": domain_id("acme.test"),
            "password": "pw-0123456789",
            "confirm": "pw-0123456789",
            "quota_mb": 100,
        },
    )
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
    assert "Failed" in page and "host key" in page
