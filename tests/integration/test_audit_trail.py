"""The audit trail: both identities on every step taken while impersonating, from the form to the
server, and who may read which events."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, BackendLog, LogState, Operation, Status
from portal.orchestration.queue import queue
from tests.helpers import mailbox, new_mailbox

SECRET = "imp-Secret-pw-42"


def test_a_mailbox_made_while_impersonating_carries_both_identities(
    app, web, make_account, make_staff, mail_server, dovecot, work
):
    customer = make_account("Acme", domains=("acme.test",)).users[0]
    staff = make_staff()
    web.login("staff@hostdeck.test")
    web.submit(
        f"/staff/accounts/{customer.account_id}",
        {"reason": "ticket #7: set up sales@"},
        post_url=f"/impersonate/{customer.id}",
    )
    assert new_mailbox(web, "sales", password=SECRET).status_code == 302
    both = [customer.id, staff.id]

    [job] = queue(app).get_jobs()
    assert job.meta["actors"] == [both]
    assert work() == 1
    box = mailbox("sales@acme.test")
    assert box.status == Status.APPLIED, box.last_error
    assert dovecot.wait_login("sales@acme.test", SECRET)

    op = db.session.scalar(sa.select(Operation).where(Operation.object_type == "Mailbox"))
    assert [op.actor_id, op.real_actor_id] == both
    entry = db.session.get(BackendLog, op.backend_log_id)
    assert entry.state == LogState.SUCCESS and entry.actors == [both]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mailbox.save"))
    assert [event.actor_id, event.real_actor_id] == both
    assert event.account_id == customer.account_id and event.object_name == "sales@acme.test"
    assert event.ip == "127.0.0.1"
    assert SECRET not in str(event.fields)
    log_page = web.get(f"/staff/logs/{entry.id}")
    assert log_page.status_code == 404  # not while impersonating
    web.submit("/", {}, post_url="/impersonate/stop")
    log_page = web.get(f"/staff/logs/{entry.id}").get_data(as_text=True)
    assert "acme@owner.test (impersonated by staff@hostdeck.test)" in log_page

    # The customer sees what support did, and why.
    web.logout()
    web.login("acme@owner.test")
    page = web.get("/activity").get_data(as_text=True)
    assert "Support (staff@hostdeck.test) accessed your account: ticket #7: set up sales@" in page
    assert "staff@hostdeck.test (support) as acme@owner.test" in page
    assert "Mailbox sales@acme.test saved (new password)" in page
    assert SECRET not in page


def test_who_sees_which_events(web, make_account, make_staff):
    reseller = make_account("Resell", kind="reseller")
    sub = make_account("Sub", parent=reseller)
    other = make_account("Other")
    make_staff()
    for account in (reseller, sub, other):
        db.session.add(
            AuditEvent(
                account_id=account.id,
                action="domain.save",
                object_type="Domain",
                object_name=f"{account.name.lower()}.test",
            )
        )
    db.session.commit()

    def seen(email):
        web.login(email)
        page = web.get("/activity").get_data(as_text=True)
        web.logout()
        return {name for name in ("resell.test", "sub.test", "other.test") if name in page}

    assert seen("sub@owner.test") == {"sub.test"}
    assert seen("resell@owner.test") == {"resell.test", "sub.test"}
    assert seen("other@owner.test") == {"other.test"}
    web.login("staff@hostdeck.test")
    assert web.get("/activity").status_code == 200  # staff's own accounts: none
    everything = web.get("/staff/events").get_data(as_text=True)
    assert all(name in everything for name in ("resell.test", "sub.test", "other.test"))
    one = web.get(f"/staff/events?account={sub.id}").get_data(as_text=True)
    assert "sub.test" in one and "other.test" not in one


def test_audit_events_are_append_only(app):
    event = AuditEvent(action="domain.save", object_name="kept.test")
    db.session.add(event)
    db.session.commit()
    event.object_name = "rewritten.test"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.object_name)) == "kept.test"
