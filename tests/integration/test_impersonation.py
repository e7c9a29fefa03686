"""Impersonation: who may act as whom, how it starts and ends, and what stays out of reach."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from portal.extensions import db
from portal.models import AuditEvent, LoginSession, Role, User, utcnow
from tests.helpers import PASSWORD, totp_now

BANNER = 'id="impersonation-banner"'


@pytest.fixture
def people(make_account, make_staff):
    reseller = make_account("Resell", kind="reseller")
    customer = make_account("Acme", parent=reseller, domains=("acme.test",))
    other = make_account("Other", domains=("other.test",))
    staff = make_staff()
    return {"reseller": reseller.users[0], "customer": customer.users[0], "other": other.users[0], "staff": staff}


def start(web, subject: User, reason: str | None = "ticket #4711", **extra):
    data = {"reason": reason, **extra} if reason is not None else dict(extra)
    return web.submit("/", data, post_url=f"/impersonate/{subject.id}")


def stop(web):
    return web.submit("/", {}, post_url="/impersonate/stop")


def impersonating() -> list[LoginSession]:
    return db.session.scalars(sa.select(LoginSession).where(LoginSession.subject_id.is_not(None))).all()


def test_staff_impersonate_a_customer_and_a_reseller(web, people):
    web.login("staff@hostdeck.test")
    assert start(web, people["customer"]).status_code == 302
    page = web.get("/").get_data(as_text=True)
    assert BANNER in page and "acme@owner.test" in page and "ticket #4711" in page
    assert stop(web).status_code == 302
    assert BANNER not in web.get("/staff/accounts").get_data(as_text=True)
    assert start(web, people["reseller"]).status_code == 302
    assert BANNER in web.get("/reseller/accounts").get_data(as_text=True)


def test_forbidden_targets_get_403(web, people, make_staff):
    admin = make_staff("admin@hostdeck.test", role=Role.ADMIN)
    other_staff = make_staff("colleague@hostdeck.test")
    suspended = people["other"]
    suspended.account.active = False
    db.session.commit()
    web.login("staff@hostdeck.test")
    for target in (admin, other_staff, people["staff"], suspended):
        response = start(web, target)
        assert response.status_code == 403, target.email
    assert impersonating() == []
    assert BANNER not in web.get("/").get_data(as_text=True)


def test_no_impersonating_while_impersonating(web, people):
    web.login("staff@hostdeck.test")
    start(web, people["customer"])
    response = start(web, people["other"])
    assert response.status_code == 403
    assert "do not nest" in response.get_data(as_text=True)
    assert [row.subject_id for row in impersonating()] == [people["customer"].id]


def test_a_reseller_impersonates_only_its_own_sub_accounts(web, people):
    web.login("resell@owner.test")
    # The sub-accounts page offers it for its owners' logins.
    assert f'action="/impersonate/{people["customer"].id}"' in web.get("/reseller/accounts").get_data(as_text=True)
    assert start(web, people["other"]).status_code == 404
    assert start(web, people["reseller"]).status_code == 404  # itself
    assert start(web, people["staff"]).status_code == 404
    assert impersonating() == []
    assert start(web, people["customer"]).status_code == 302
    page = web.get("/").get_data(as_text=True)
    assert BANNER in page and "resell@owner.test" in page


def test_customers_cannot_impersonate(web, people):
    web.login("acme@owner.test")
    assert start(web, people["other"]).status_code == 404
    assert impersonating() == []


def test_a_start_needs_post_a_reason_and_a_fresh_step_up(web, people):
    staff = people["staff"]
    web.login("staff@hostdeck.test")
    assert web.client.get(f"/impersonate/{people['customer'].id}").status_code == 405
    assert start(web, people["customer"], reason=None).status_code == 302
    assert start(web, people["customer"], reason="   ").status_code == 302
    assert start(web, people["customer"], reason="line\nbreak").status_code == 302
    assert impersonating() == []
    # Login counted as a step-up; six minutes later it no longer does.
    with freeze_time(utcnow() + timedelta(minutes=6)):
        refused = start(web, people["customer"])
        assert impersonating() == []
        assert "fresh code" in web.get(refused.location).get_data(as_text=True)
        assert start(web, people["customer"], code="000000").status_code == 302
        assert impersonating() == []
        staff.totp_last_step = None
        db.session.commit()
        assert start(web, people["customer"], code=totp_now(staff)).status_code == 302
        assert [row.subject_id for row in impersonating()] == [people["customer"].id]


def test_the_banner_is_on_every_html_page(app, web, people):
    web.login("staff@hostdeck.test")
    start(web, people["reseller"])
    pages = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint.endswith("static"):
            continue
        response = web.get(rule.rule)
        if response.status_code == 200 and response.mimetype == "text/html":
            assert BANNER in response.get_data(as_text=True), rule.rule
            pages += 1
    assert pages >= 10
    missing = web.get("/mailboxes/987654")
    assert missing.status_code == 404 and BANNER in missing.get_data(as_text=True)


def test_the_subjects_credentials_and_account_deletion_are_refused(app, web, people):
    refused = sorted(
        endpoint for endpoint, view in app.view_functions.items() if getattr(view, "refused_while_impersonating", False)
    )
    assert {
        "account.password",
        "account.email",
        "account.two_factor",
        "account.two_factor_off",
        "account.recovery_codes",
        "account.timezone",
        "reseller.delete",
        "auth.step_up",
    } <= set(refused)
    reseller, customer = people["reseller"], people["customer"]
    before = (reseller.password_hash, reseller.email)
    web.login("staff@hostdeck.test")
    start(web, reseller)
    token = web.token("/account/")
    forms = {
        "/account/password": {"current": PASSWORD, "password": "a-new-long-password", "confirm": "a-new-long-password"},
        "/account/email": {"email": "taken-over@example.net", "current": PASSWORD},
        "/account/timezone": {"timezone": "Europe/Berlin"},
        "/account/two-factor": {"code": "123456"},
        "/account/two-factor/off": {"code": "123456"},
        "/account/two-factor/recovery-codes": {"code": "123456"},
        f"/reseller/accounts/{customer.account_id}/delete": {},
        "/step-up": {"code": "123456"},
    }
    for url, data in forms.items():
        assert web.client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert web.get("/account/two-factor").status_code == 403
    assert web.get(f"/reseller/accounts/{customer.account_id}/delete").status_code == 403
    db.session.refresh(reseller)
    assert (reseller.password_hash, reseller.email, reseller.totp_secret) == (*before, None)
    assert customer.account.deleting_at is None
    # Staff pages are not for the subject either.
    assert web.get("/staff/accounts").status_code == 404


def test_it_ends_after_60_minutes(web, people):
    staff = people["staff"]
    web.login("staff@hostdeck.test")
    start(web, people["customer"])
    with freeze_time(utcnow() + timedelta(minutes=59)):
        assert BANNER in web.get("/").get_data(as_text=True)
    with freeze_time(utcnow() + timedelta(minutes=61)):
        text = web.get("/").get_data(as_text=True)
        assert BANNER not in text
        assert "ended after 60 minutes" in text
        assert web.get("/staff/accounts").status_code == 200  # staff again
    stopped = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "impersonation.stop"))
    assert stopped.real_actor_id == staff.id and "60 minutes" in stopped.fields["ended"]


def test_it_ends_at_once_when_the_permission_goes(web, people):
    staff = people["staff"]
    web.login("staff@hostdeck.test")
    start(web, people["customer"])
    assert BANNER in web.get("/").get_data(as_text=True)
    staff.role = Role.OWNER  # no longer staff
    db.session.commit()
    web.get("/")
    assert BANNER not in web.get("/").get_data(as_text=True)
    assert impersonating() == []


def test_the_session_id_changes_on_start_and_on_stop(app, web, people):
    web.login("staff@hostdeck.test")
    before = web.client.get_cookie("session").value
    start(web, people["customer"])
    during = web.client.get_cookie("session").value
    assert during != before
    stop(web)
    after = web.client.get_cookie("session").value
    assert after not in (before, during)
    for old in (before, during):  # a cookie from before a rotation is worth nothing
        replay = app.test_client()
        replay.set_cookie("session", old)
        assert replay.get("/").status_code == 302
        assert "/login" in replay.get("/").location
    assert web.get("/staff/accounts").status_code == 200


def test_the_subjects_last_login_is_untouched(web, people):
    customer = people["customer"]
    web.login("staff@hostdeck.test")
    start(web, customer)
    web.get("/mailboxes")
    stop(web)
    db.session.refresh(customer)
    assert customer.last_login_at is None
    assert people["staff"].last_login_at is not None


def test_start_and_stop_are_audited_with_the_reason(web, people):
    web.login("staff@hostdeck.test")
    start(web, people["customer"], reason="ticket #99: mail bounces")
    stop(web)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("impersonation.%")).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["impersonation.start", "impersonation.stop"]
    for event in events:
        assert (event.actor_id, event.real_actor_id) == (people["customer"].id, people["staff"].id)
        assert event.account_id == people["customer"].account_id
        assert event.fields["reason"] == "ticket #99: mail bounces"
