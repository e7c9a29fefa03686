"""A failed change's verifier is kept for a retry, but no longer than it is of use: a newer password wipes
it at once, and after FAILED_SECRET_DAYS the sweep wipes it. The object's page then asks for a new
password, and a retry applies everything else without one."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Operation, OpState, Status, utcnow
from portal.orchestration.dispatch import sweep
from portal.orchestration.jobs import apply_server
from portal.orchestration.operations import record
from tests.helpers import (
    add_server,
    backend_logs,
    break_server,
    change_password,
    count,
    failed_mailbox,
    mailbox,
    new_mailbox,
    passwd_file_locked,
    ssh_server,
    staff_retry,
    wait_for,
)
from tests.testbed.ports import free_port

P0, P1, P2 = "first-password-0", "second-password-1", "third-password-2"
ASKS = "needs a new password"


def ops() -> list[Operation]:
    return list(db.session.scalars(sa.select(Operation).order_by(Operation.id)))


def kept_verifiers() -> int:
    return count(Operation, Operation.secret.is_not(None))


def age(op: Operation, days: float) -> None:
    """As if the operation had failed `days` ago."""
    db.session.execute(
        sa.update(Operation).where(Operation.id == op.id).values(updated_at=utcnow() - timedelta(days=days))
    )
    db.session.commit()


def settled() -> bool:
    return all(
        state not in (OpState.PENDING, OpState.RUNNING) for state in db.session.scalars(sa.select(Operation.state))
    )


def test_the_setting_is_one_day_by_default(app):
    assert app.config["FAILED_SECRET_DAYS"] == 1


def test_a_newer_password_wipes_a_failing_ones_verifier_at_once(web, acme, dovecot, workers):
    """P2 is set while the script with P1 runs; when that script fails, P1's verifier is of no use."""
    break_server(acme, True)
    with passwd_file_locked(dovecot):  # the script with P1 waits on the server
        new_mailbox(web, "alice", P1)
        workers.start()
        wait_for(lambda: db.session.scalar(sa.select(Operation.state)) == OpState.RUNNING)
        change_password(web, f"/mailboxes/{mailbox('alice@acme.test').id}", P2)
    wait_for(settled, what="both changes to fail")

    first, second = ops()
    assert first.secret is None
    assert second.state == OpState.FAILED and second.secret is not None  # P2 is kept, for a retry
    assert kept_verifiers() == 1


def test_a_change_made_meanwhile_delivers_the_failed_password(web, acme, dovecot, workers):
    """A quota change while the script with P1 runs; that script fails, so the later change carries P1."""
    break_server(acme, True)
    with passwd_file_locked(dovecot):
        new_mailbox(web, "alice", P1)
        workers.start()
        wait_for(lambda: db.session.scalar(sa.select(Operation.state)) == OpState.RUNNING)
        box = mailbox("alice@acme.test")
        box.quota_mb = 77
        record(box, "save")
        break_server(acme, False)  # commits: the quota change is enqueued; the running script is already built
    wait_for(settled, what="both changes to settle")

    assert [e.exit_code for e in backend_logs()] == [1, 0]
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P1)
    assert "storage=77M" in dovecot.passwd_file.read_text()
    assert kept_verifiers() == 0


def test_an_old_failed_verifier_is_wiped_and_the_page_asks_for_a_new_password(web, acme, dovecot, work, app, sshd):
    new_mailbox(web, "alice", P0)
    work()
    box = mailbox("alice@acme.test")
    page = f"/mailboxes/{box.id}"
    app.config["RETRY_DELAYS"] = ""  # no retries: an unreachable server fails the change at once
    acme.port = free_port()
    db.session.commit()
    change_password(web, page, P1)
    work()
    failed = ops()[-1]
    assert failed.state == OpState.FAILED and failed.secret is not None
    assert ASKS not in web.get(page).get_data(as_text=True)

    age(failed, 0.5)  # younger than FAILED_SECRET_DAYS: kept
    sweep()
    db.session.refresh(failed)
    assert failed.secret is not None

    age(failed, 1.5)
    sweep()
    db.session.refresh(failed)
    assert failed.secret is None
    assert kept_verifiers() == 0
    assert ASKS in web.get(page).get_data(as_text=True)

    # A retry applies the rest, and no password: the server keeps the one it has.
    acme.port = sshd.port
    db.session.commit()
    staff_retry(web, backend_logs()[-1].id)
    work()
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", P0)
    assert not dovecot.wait_login("alice@acme.test", P1, expect=False)
    web.logout()
    web.login("acme@owner.test")
    assert ASKS in web.get(page).get_data(as_text=True)

    # A new password ends it.
    change_password(web, page, P2)
    work()
    assert dovecot.wait_login("alice@acme.test", P2)
    assert ASKS not in web.get(page).get_data(as_text=True)
    assert kept_verifiers() == 0


def test_a_new_mailbox_without_its_password_is_refused_on_retry(web, acme, dovecot, work, app):
    """The demo has no sweeper: each apply wipes the verifiers that are too old first."""
    box = failed_mailbox(web, acme, work, "bob", P1)
    page = f"/mailboxes/{box.id}"
    age(ops()[-1], 2)
    break_server(acme, False)
    apply_server(acme.id)  # nothing due on it: it only wipes
    assert kept_verifiers() == 0
    assert ASKS in web.get(page).get_data(as_text=True)

    staff_retry(web, backend_logs()[-1].id)
    work()
    box = mailbox("bob@acme.test")
    assert box.status == Status.FAILED and "set a new one" in box.last_error
    assert "bob@acme.test" not in dovecot.passwd_file.read_text()
    assert not dovecot.wait_login("bob@acme.test", P1, expect=False)


@pytest.fixture
def unreachable(app, sshd, web, make_account, mariadb):
    """Acme logged in; one server for mail, system users and databases that nobody can reach, and no
    retries: each change fails at once, keeping its verifier."""
    app.config["RETRY_DELAYS"] = ""
    make_account("Acme", domains=("acme.test",))
    server = ssh_server("all1", sshd, mariadb_host=mariadb.host, mariadb_port=mariadb.port)
    server.port = free_port()
    add_server(server, "dovecot", "unix", "mariadb")
    web.login("acme@owner.test")
    return server


CREATE = {
    "mailbox": ("/mailboxes/new", lambda pw: {"local_part": "carol", "quota_mb": 10}),
    "system user": ("/system-users/new", lambda pw: {"name": "web", "shell": "sftp"}),
    "database user": ("/databases/users/new", lambda pw: {"name": "app", "engine": "mariadb"}),
}


@pytest.mark.parametrize("kind", list(CREATE))
def test_every_kind_with_a_password_asks_for_a_new_one(web, unreachable, work, kind):
    url, fields = CREATE[kind]
    data = {**fields(P1), "password": P1, "confirm": P1}
    if kind == "mailbox":
        data["domain_id"] = db.session.scalar(sa.text("select id from domain"))
    created = web.submit(url, data)
    assert created.status_code == 302, created.get_data(as_text=True)
    page = created.location
    work()
    (failed,) = ops()
    assert failed.state == OpState.FAILED and failed.sets_password and failed.secret is not None
    assert ASKS not in web.get(page).get_data(as_text=True)

    age(failed, 2)
    sweep()
    assert kept_verifiers() == 0
    assert ASKS in web.get(page).get_data(as_text=True)

    change_password(web, page, P2)  # still unreachable: fails, but the page has a password to try again
    work()
    assert kept_verifiers() == 1
    assert ASKS not in web.get(page).get_data(as_text=True)
