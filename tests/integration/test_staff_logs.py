"""Staff log pages, retry with the current state, resync, and the dry run."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LogState, Operation, OpState, Status
from tests.helpers import (
    backend_logs,
    break_server,
    change_password,
    count,
    failed_mailbox,
    mailbox,
    new_mailbox,
    staff_retry,
)

P1, P2 = "first-password-1", "second-password-2"


def test_retry_applies_the_latest_password(web, acme, dovecot, work):
    box = failed_mailbox(web, acme, work, "alice", P1)
    assert box.status == Status.FAILED and "no-such-group" in box.last_error
    assert backend_logs()[0].state == LogState.FAILURE and backend_logs()[0].exit_code == 1
    change_password(web, f"/mailboxes/{box.id}", P2)
    work()
    assert [e.state for e in backend_logs()] == [LogState.FAILURE, LogState.FAILURE]  # FAILURE is not retried by itself
    work()
    assert len(backend_logs()) == 2

    break_server(acme, False)
    staff_retry(web, backend_logs()[0].id)  # the older log: the current state has P2
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P2)
    assert not dovecot.wait_login("alice@acme.test", P1, expect=False)
    assert count(Operation, Operation.secret.is_not(None)) == 0


def test_retrying_an_old_log_keeps_the_newer_password(web, acme, dovecot, work):
    box = failed_mailbox(web, acme, work, "alice", P1)
    assert box.status == Status.FAILED
    break_server(acme, False)
    change_password(web, f"/mailboxes/{box.id}", P2)
    work()
    assert dovecot.wait_login("alice@acme.test", P2)
    staff_retry(web, backend_logs()[0].id)  # the log that failed with P1
    work()
    assert dovecot.wait_login("alice@acme.test", P2)
    assert not dovecot.wait_login("alice@acme.test", P1, expect=False)
    assert count(Operation, Operation.secret.is_not(None)) == 0


def test_retry_after_a_delete_deletes(web, acme, dovecot, work):
    box = failed_mailbox(web, acme, work, "bob", P1)
    web.submit(f"/mailboxes/{box.id}/delete", {})
    work()
    assert mailbox("bob@acme.test").status == Status.FAILED
    break_server(acme, False)
    staff_retry(web, backend_logs()[0].id)  # retrying the create...
    work()
    assert mailbox("bob@acme.test") is None  # ...applies what is wanted now: no bob
    assert "bob@acme.test" not in dovecot.passwd_file.read_text()


def test_resync_reapplies_everything_in_one_script(web, acme, dovecot, work):
    for name in ("ann", "ben"):
        new_mailbox(web, name, P1)
    work()
    lines = dovecot.passwd_file.read_text()
    dovecot.passwd_file.write_text(lines.splitlines()[0] + "\n")  # the server lost ben
    ben = mailbox("ben@acme.test")
    ben.quota_mb = 77
    db.session.commit()
    web.logout()
    web.login("staff@hostdeck.test")
    assert "Resync server" in web.get("/staff/servers").get_data(as_text=True)
    web.submit("/staff/servers", {}, post_url=f"/staff/servers/{acme.id}/resync")
    work()
    # One script for both; ben had no hash left on the server, so just ben is refused, saying why.
    last = backend_logs()[-1]
    assert len(last.operations) == 2
    assert last.state == LogState.WARNING and "ben@acme.test has no password on the server yet" in last.stderr
    assert mailbox("ann@acme.test").status == Status.APPLIED
    ben = mailbox("ben@acme.test")
    assert ben.status == Status.FAILED and "set a new one" in ben.last_error
    assert "ann@acme.test:" in dovecot.passwd_file.read_text()
    assert "ben@acme.test" not in dovecot.passwd_file.read_text()


def test_log_pages_for_staff(web, acme, work):
    new_mailbox(web, "alice", P1)
    work()
    entry = backend_logs()[0]
    web.logout()
    web.login("staff@hostdeck.test")
    listing = web.get(f"/staff/logs?server={acme.id}&state=SUCCESS&account=").get_data(as_text=True)
    assert f"/staff/logs/{entry.id}" in listing
    assert f"/staff/logs/{entry.id}" not in web.get("/staff/logs?state=FAILURE").get_data(as_text=True)
    detail = web.get(f"/staff/logs/{entry.id}").get_data(as_text=True)
    assert "alice@acme.test" in detail and "[redacted]" in detail and "$6$" not in detail
    assert "Retry with the current state" in detail


STAFF_PAGES = [
    ("GET", "/staff/logs"),
    ("GET", "/staff/logs/{id}"),
    ("POST", "/staff/logs/{id}/retry"),
    ("GET", "/staff/servers"),
    ("POST", "/staff/servers/{server}/resync"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_PAGES)
def test_staff_pages_are_404_for_customers(web, acme, work, method, path):
    new_mailbox(web, "alice", P1)
    work()
    url = path.format(id=backend_logs()[0].id, server=acme.id)
    response = web.get(url) if method == "GET" else web.submit("/mailboxes/new", {}, post_url=url)
    assert response.status_code == 404
    assert count(Operation, Operation.state == OpState.PENDING) == 0


def test_dry_run_prints_redacted_scripts_and_changes_nothing(web, acme, app, redis_server):
    redis_server.stop()  # keep the change pending
    new_mailbox(web, "alice", P1)
    result = app.test_cli_runner().invoke(args=["orchestration", "apply", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "# mail1: 1 operation(s)" in result.output
    assert "alice@acme.test" in result.output and "[redacted]" in result.output and "$6$" not in result.output
    assert db.session.scalar(sa.select(Operation.state)) == OpState.PENDING
    assert backend_logs() == []
