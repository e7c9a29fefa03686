"""Server-side sessions: logout, password changes, inactivity and an absolute lifetime."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from portal.extensions import db
from portal.models import AuditEvent, LoginSession, utcnow
from portal.orchestration.dispatch import sweep
from portal.security.passwords import check_password
from tests.helpers import PASSWORD, Web, count, logged_in

NEW = "another long password"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SESSION_IDLE_MINUTES": 30, "SESSION_MAX_HOURS": 2}


def test_a_logged_out_cookie_cannot_be_replayed(app, web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    cookie = web.client.get_cookie("session").value
    web.logout()
    assert not logged_in(web.client)
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    response = thief.get("/account/")
    assert response.status_code == 302 and "/login" in response.location
    assert count(LoginSession) == 0


def test_a_password_change_ends_the_other_sessions(app, web, make_account):
    user = make_account("Acme").users[0]
    laptop, phone = web, Web(app.test_client())
    laptop.login("acme@owner.test")
    phone.login("acme@owner.test")
    before = laptop.client.get_cookie("session").value
    wrong = laptop.submit(
        "/account/", {"current": "not it", "password": NEW, "confirm": NEW}, post_url="/account/password"
    )
    assert "current password is wrong" in wrong.get_data(as_text=True)
    assert logged_in(phone.client)
    done = laptop.submit(
        "/account/", {"current": PASSWORD, "password": NEW, "confirm": NEW}, post_url="/account/password"
    )
    assert done.status_code == 302
    assert "1 other session" in laptop.get(done.location).get_data(as_text=True)
    assert logged_in(laptop.client) and not logged_in(phone.client)
    replay = app.test_client()
    replay.set_cookie("session", before)  # this session's own id changed too
    assert not logged_in(replay)
    db.session.refresh(user)
    assert check_password(NEW, user.password_hash)[0]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.password"))
    assert event.actor_id == user.id and event.fields == {}


def test_an_idle_session_ends(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    start = utcnow()
    with freeze_time(start + timedelta(minutes=25)):
        assert logged_in(web.client)
    with freeze_time(start + timedelta(minutes=50)):  # 25 idle minutes since the last request
        assert logged_in(web.client)
    with freeze_time(start + timedelta(minutes=81)):  # 31
        assert not logged_in(web.client)


def test_a_busy_session_still_ends_after_its_lifetime(web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    start = utcnow()
    for minutes in range(20, 120, 20):
        with freeze_time(start + timedelta(minutes=minutes)):
            assert logged_in(web.client), minutes
    with freeze_time(start + timedelta(minutes=121)):
        assert not logged_in(web.client)


def test_a_suspended_users_session_ends(web, make_account):
    account = make_account("Acme")
    web.login("acme@owner.test")
    account.active = False
    db.session.commit()
    assert not logged_in(web.client)
    assert count(LoginSession) == 0


def test_changing_the_login_email_needs_the_password(web, make_account):
    make_account("Acme")
    make_account("Taken", email="taken@example.net")
    web.login("acme@owner.test")
    refused = web.submit("/account/", {"email": "new@example.net", "current": "nope"}, post_url="/account/email")
    assert "current password is wrong" in refused.get_data(as_text=True)
    taken = web.submit("/account/", {"email": "Taken@example.net", "current": PASSWORD}, post_url="/account/email")
    assert "taken@example.net is not available; choose another." in taken.get_data(as_text=True)
    assert (
        web.submit(
            "/account/", {"email": "New@Example.net", "current": PASSWORD}, post_url="/account/email"
        ).status_code
        == 302
    )
    web.logout()
    web.login("new@example.net")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.email"))
    assert event.fields == {"from": "acme@owner.test", "to": "new@example.net"}


def test_the_sweeper_forgets_expired_sessions(app, web, make_account):
    make_account("Acme")
    web.login("acme@owner.test")
    sweep()
    assert count(LoginSession) == 1
    with freeze_time(utcnow() + timedelta(minutes=31)):
        sweep()
    assert count(LoginSession) == 0
