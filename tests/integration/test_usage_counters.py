"""Usage counters: they follow creates and applied deletes for the account and its reseller, and the
dashboard, the list pages and the reseller's usage column read them instead of counting rows.
(Every test's teardown also checks them against the rows: tests/conftest.py.)"""

import re
import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, BackendLog, Domain, LogState, Mailbox, Operation, Status, usage
from portal.orchestration.changes import Change
from portal.orchestration.outcome import settle
from tests.helpers import account_named, domain_id, mailbox_operation, new_mailbox, wait_for


@pytest.fixture
def app_config():
    return {"PER_PAGE": 2}


def used(name: str) -> dict[str, int]:
    db.session.expire_all()
    account = account_named(name)
    return {"mailboxes": account.used_mailboxes, "quota_mb": account.used_quota_mb, "domains": account.used_domains}


def create(web, name: str, quota: int = 10):
    reply = new_mailbox(web, name, quota=quota)
    assert reply.status_code == 302, reply.get_data(as_text=True)[:300]


def test_counters_follow_creates_and_applied_deletes(web, make_account, local_server, app):
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    assert used("Acme") == {"mailboxes": 0, "quota_mb": 0, "domains": 1}
    web.login("acme@owner.test")
    create(web, "one", quota=30)
    create(web, "two", quota=20)
    assert used("Acme") == {"mailboxes": 2, "quota_mb": 50, "domains": 1}
    # The reseller's row keeps its own (none): its sub-accounts' are added when read.
    assert used("Resell") == {"mailboxes": 0, "quota_mb": 0, "domains": 0}
    resell = account_named("Resell")
    assert usage.totals(db.session, [resell])[resell.id]["mailboxes"] == 2

    box_id = db.session.scalar(sa.select(Mailbox.id).where(Mailbox.local_part == "one"))
    assert web.submit(f"/mailboxes/{box_id}/delete", {}).status_code == 302
    # The row (and so the count) goes once the server has applied the delete: in-process here.
    db.session.expire_all()
    assert db.session.get(Mailbox, box_id) is None
    assert used("Acme")["mailboxes"] == 1 and used("Acme")["quota_mb"] == 20
    resell = account_named("Resell")
    assert usage.totals(db.session, [resell])[resell.id]["quota_mb"] == 20


def test_a_row_deleted_twice_is_taken_off_once(make_account, app):
    """Two workers settling (or purging) the same row: the second delete finds nothing to take off."""
    make_account("Acme", domains=("acme.test", "other.test"))
    other = domain_id("other.test")
    usage.delete_rows(db.session, Domain, [other])
    usage.delete_rows(db.session, Domain, [other])
    db.session.commit()
    assert used("Acme")["domains"] == 1


def test_recount_usage_command_mends_drift(make_account, app):
    make_account("Acme", domains=("acme.test",))
    db.session.execute(sa.update(Account).where(Account.name == "Acme").values(used_domains=7))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["accounts", "recount-usage"])
    assert result.exit_code == 0 and "1 account(s) corrected" in result.output, result.output
    assert used("Acme")["domains"] == 1
    result = app.test_cli_runner().invoke(args=["accounts", "recount-usage"])
    assert "every account's usage was right" in result.output


def test_a_refused_create_moves_no_counter(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    create(web, "one")
    again = new_mailbox(web, "one")
    assert again.status_code == 200 and "one@acme.test already exists." in again.get_data(as_text=True)
    assert used("Acme")["mailboxes"] == 1 and used("Acme")["quota_mb"] == 10


def test_dashboard_and_list_totals_come_from_the_counters(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    for name in ("a", "b", "c"):
        create(web, name)
    db.session.execute(sa.update(Mailbox).where(Mailbox.local_part == "c").values(status=Status.FAILED))
    db.session.commit()
    dashboard = web.get("/").get_data(as_text=True)
    meter = re.search(r'data-limit="mailboxes">(.*?)</progress>', dashboard, re.S).group(1)
    assert "3 · no limit" in meter
    assert "1 mailbox could not be applied" in dashboard
    # Two per page: three mailboxes make two pages, the total read from the counter.
    listing = web.get("/mailboxes/").get_data(as_text=True)
    assert "?page=2" in listing and "?page=3" not in listing
    # A counter that says 5 gives three pages: the list did not count the rows itself.
    db.session.execute(sa.update(Account).where(Account.name == "Acme").values(used_mailboxes=5))
    db.session.commit()
    assert "?page=3" in web.get("/mailboxes/").get_data(as_text=True)
    assert usage.drift(db.session) == [
        (db.session.scalar(sa.select(Account.id).where(Account.name == "Acme")), "mailboxes", 5, 3)
    ]
    assert usage.recount(db.session) == 1
    db.session.commit()
    assert usage.drift(db.session) == []


def test_reseller_usage_column_reads_the_counters(web, make_account, local_server, app):
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    web.login("acme@owner.test")
    create(web, "one", quota=25)
    web.logout()
    web.login("resell@owner.test")
    page = web.get("/reseller/accounts").get_data(as_text=True)
    assert "mailboxes: 1 / ∞" in page and "MB of mail quota: 25 / ∞" in page


def test_a_worker_settling_a_delete_locks_the_account_before_any_other_row(app, make_account, local_server, row_locks):
    """The lock order that keeps workers and requests from deadlocking: account rows first.

    A request that reserved a limit holds the account row and may then need the mailbox or its
    operation; so a worker settling a delete must wait on the account before it locks them."""
    make_account("Acme", domains=("acme.test",))
    acme = account_named("Acme")
    box = Mailbox(
        account_id=acme.id, domain_id=domain_id("acme.test"), local_part="gone", quota_mb=10, status=Status.DELETING
    )
    db.session.add(box)
    db.session.flush()
    op = mailbox_operation(local_server.id, box.id, "delete", account_id=acme.id, state="running")
    db.session.add(op)
    db.session.commit()
    ids = {"account": acme.id, "box": box.id, "op": op.id, "server": local_server.id}

    request = db.engine.connect()  # a request that reserved a limit: it holds the account row
    request.execute(sa.text("SELECT id FROM account WHERE id = :id FOR UPDATE"), {"id": ids["account"]})
    request_pid = request.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    done = []

    def worker():
        with app.app_context():
            try:
                server = db.session.get(type(local_server), ids["server"])
                entry = BackendLog(server_id=server.id, state=LogState.SUCCESS)
                db.session.add(entry)
                settle(server, entry, [Change(op=db.session.get(Operation, ids["op"]))], {})
                done.append(True)
            except Exception as exc:
                done.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=worker)
    thread.start()
    blocked = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND :request = ANY(pg_blocking_pids(pid))"
    )

    def waiting_on_the_request() -> int:
        request.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # else one snapshot per transaction
        return request.execute(blocked, {"request": request_pid}).scalar()

    try:
        wait_for(lambda: done or waiting_on_the_request() == 1, timeout=10, what="the worker to wait on the request")
        assert not done, done  # it is still waiting...
        assert waiting_on_the_request() == 1  # ...on the account row the request holds
        # It waits on the account, holding nothing the request may need next.
        for table, key in (("mailbox", "box"), ("operation", "op")):
            request.execute(
                sa.text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": ids[key]},
            )
    finally:
        request.rollback()
        request.close()
        thread.join(30)
    assert done == [True]
    db.session.expire_all()
    assert db.session.get(Mailbox, ids["box"]) is None and used("Acme")["mailboxes"] == 0


def test_a_create_locks_its_account_before_writing_anything(web, make_account, local_server, row_locks):
    """The other half of the lock order: a request takes its account's row first, then writes."""
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    web.login("acme@owner.test")
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        create(web, "one")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    locks = [i for i, s in enumerate(seen) if s.startswith("SELECT") and "FOR UPDATE OF account" in s]
    writes = [
        i
        for i, s in enumerate(seen)  # (a login's last-seen time is not the create's)
        if s.startswith(("INSERT", "UPDATE", "DELETE")) and "login_session" not in s
    ]
    assert locks and writes and locks[0] < writes[0], seen
    # The reseller sets no limit here: its row is read for its limits, never locked.
    assert len(locks) == 1
