"""Getting back in: "Forgot password?" e-mails a signed link that works once, within an hour; resellers
and staff can e-mail the same link to an owner; a suspended login with the right password is told so.

The mail goes through a real SMTP server on loopback (aiosmtpd), sent by a real RQ worker (`work`).
"""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from redis import Redis

from portal.extensions import db
from portal.models import Account, AuditEvent, Role, User
from tests.helpers import PASSWORD, Web, logged_in, mail_body, mailing_config, page_text, user_named

NEW_PASSWORD = "violet-harbor-quartz-91"
OTHER_PASSWORD = "amber-lantern-ocean-47"
PUBLIC = "https://portal.example"
LINK = re.compile(re.escape(PUBLIC) + r"(/reset-password/[A-Za-z0-9_.\-]+)")
SAME_ANSWER = "If an account logs in with that e-mail address, a link to set a new password is on its way"
USED_OR_EXPIRED = "This link has expired, was used already, or is not complete"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return mailing_config(redis_server, sshd, smtp, PUBLIC_URL=PUBLIC)


@pytest.fixture
def acme(make_account):
    return make_account("Acme", domains=("acme.test",))


def forgot(web, email: str, ip: str = "10.0.0.1"):
    return web.submit("/forgot-password", {"email": email}, environ_base={"REMOTE_ADDR": ip})


def mails_to(smtp, address: str) -> list:
    return [m for m in smtp.messages if m["To"] == address]


def link_in(message) -> str:
    """The path of the link in the mail (the same in its text and HTML parts)."""
    text, html = LINK.search(mail_body(message, "plain")), LINK.search(mail_body(message, "html"))
    assert text and html and text.group(1) == html.group(1), "no link, or two different ones"
    return text.group(1)


def use_link(web, path: str, password: str = NEW_PASSWORD):
    opened = web.get(path)
    assert opened.status_code == 302 and opened.location.endswith("/reset-password?opened=1"), opened.status_code
    return web.submit("/reset-password", {"password": password, "confirm": password})


def log_out(web):
    return web.submit("/account/", {}, post_url="/logout")


def attempt(web, email, password):
    return web.submit("/login", {"email": email, "password": password})


def test_forgot_password_end_to_end_the_link_works_once(app, web, acme, smtp, work, redis_server):
    elsewhere = Web(app.test_client())
    elsewhere.login("acme@owner.test")
    login_page = web.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in login_page and "Forgot password?" in login_page

    sent = forgot(web, "Acme@Owner.test")
    assert sent.status_code == 302
    assert SAME_ANSWER in web.get(sent.location).get_data(as_text=True)
    assert smtp.messages == []  # a worker sends it, not the request
    work()
    [message] = mails_to(smtp, "acme@owner.test")
    assert "password" in message["Subject"].lower()
    path = link_in(message)
    token = path.rsplit("/", 1)[1]
    redis = Redis.from_url(redis_server.url)
    assert not any(token.encode() in (redis.dump(key) or b"") for key in redis.scan_iter()), "the token is in Redis"

    form = web.get(web.get(path).location)
    assert form.status_code == 200 and "acme@owner.test" in form.get_data(as_text=True)
    assert token not in form.get_data(as_text=True)  # not in the page, nor in its form's action
    done = web.submit("/reset-password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.location.endswith("/login")
    assert not logged_in(elsewhere.client), "the other sessions live on"

    assert attempt(web, "acme@owner.test", PASSWORD).status_code == 200  # the old password is gone
    assert web.login("acme@owner.test", NEW_PASSWORD).status_code == 302
    log_out(web)

    again = web.get(path)
    assert again.status_code == 404 and USED_OR_EXPIRED in again.get_data(as_text=True)
    assert 'href="/forgot-password"' in again.get_data(as_text=True)
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.fields.get("via")) for e in events] == [
        ("user.password_link", "forgot password"),
        ("user.password", "password link"),
    ]
    assert all(token not in json.dumps(e.fields) for e in events)


def test_a_weak_password_is_refused_and_the_link_still_works(web, acme, smtp, work):
    forgot(web, "acme@owner.test")
    work()
    path = link_in(mails_to(smtp, "acme@owner.test")[0])
    weak = use_link(web, path, "acme-acme-acme-1")  # the account's name, over and over
    assert weak.status_code == 200 and 'name="password"' in weak.get_data(as_text=True)
    assert web.login("acme@owner.test").status_code == 302  # unchanged
    log_out(web)
    assert use_link(web, path).status_code == 302
    assert web.login("acme@owner.test", NEW_PASSWORD).status_code == 302


def test_a_link_opened_twice_before_use_still_works_once(web, acme, smtp, work):
    forgot(web, "acme@owner.test")
    work()
    path = link_in(mails_to(smtp, "acme@owner.test")[0])
    other = Web(web.client.application.test_client())
    assert other.get(path).status_code == 302  # opened in a second browser, left open
    token = other.token("/reset-password")
    assert use_link(web, path).status_code == 302
    late = other.client.post(
        "/reset-password", data={"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD, "csrf_token": token}
    )
    assert late.status_code == 404 and USED_OR_EXPIRED in late.get_data(as_text=True)
    assert web.login("acme@owner.test", NEW_PASSWORD).status_code == 302


def test_the_link_expires_after_an_hour(web, acme, smtp, work):
    forgot(web, "acme@owner.test")
    work()
    path = link_in(mails_to(smtp, "acme@owner.test")[0])
    now = datetime.now(UTC)
    with freeze_time(now + timedelta(minutes=59)):
        assert web.get(path).status_code == 302
        token = web.token("/reset-password")
    with freeze_time(now + timedelta(minutes=61)):
        # Opened in time, submitted too late: refused.
        late = web.client.post(
            "/reset-password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
        )
        assert late.status_code == 404 and USED_OR_EXPIRED in late.get_data(as_text=True)
        expired = web.get(path)
        assert expired.status_code == 404 and USED_OR_EXPIRED in expired.get_data(as_text=True)
    assert web.login("acme@owner.test").status_code == 302  # the password did not change


def test_a_tampered_link_is_refused(web, acme, smtp, work):
    forgot(web, "acme@owner.test")
    work()
    path = link_in(mails_to(smtp, "acme@owner.test")[0])
    payload, stamp, signature = path.rsplit("/", 1)[1].split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = dict(data, u=data["u"] + 1)
    forged = base64.urlsafe_b64encode(json.dumps(other).encode()).decode().rstrip("=")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    for bad in (f"{forged}.{stamp}.{signature}", f"{payload}.{stamp}.{flipped}", f"{payload}.{stamp}", "x", "a.b.c"):
        refused = web.get(f"/reset-password/{bad}")
        assert refused.status_code == 404 and USED_OR_EXPIRED in refused.get_data(as_text=True), bad
    assert web.get("/reset-password").status_code == 404  # no link opened: nothing to set
    assert web.login("acme@owner.test").status_code == 302


def test_the_link_carries_no_part_of_the_password_hash(web, acme, smtp, work):
    forgot(web, "acme@owner.test")
    work()
    payload = link_in(mails_to(smtp, "acme@owner.test")[0]).rsplit("/", 1)[1].split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    digest = user_named("acme@owner.test").password_hash.rsplit("$", 1)[1]
    assert not any(digest[i : i + 8] in decoded for i in range(len(digest) - 8))


def test_an_unknown_email_gets_the_same_answer_and_no_mail(web, acme, smtp, work, queued):
    known = forgot(web, "acme@owner.test", ip="10.0.0.1")
    after_known = queued()
    unknown = forgot(web, "nobody@owner.test", ip="10.0.0.2")
    # The same answer, and the same path: each request hands one job to a worker, which looks the login up.
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    assert queued() == after_known + 1 == 2
    assert page_text(web.get(known.location)) == page_text(web.get(unknown.location))
    work()
    assert [m["To"] for m in smtp.messages] == ["acme@owner.test"]


def test_a_suspended_login_gets_no_link(web, acme, smtp, work):
    acme.active = False
    db.session.commit()
    assert forgot(web, "acme@owner.test").status_code == 302
    work()
    assert smtp.messages == []


def test_staff_still_need_their_second_factor_after_a_reset(web, make_staff, smtp, work):
    make_staff()
    forgot(web, "staff@hostdeck.test")
    work()
    assert use_link(web, link_in(mails_to(smtp, "staff@hostdeck.test")[0])).status_code == 302
    response = attempt(web, "staff@hostdeck.test", NEW_PASSWORD)
    assert response.status_code == 302 and response.location.endswith("/login/two-factor")
    assert not logged_in(web.client)


def test_forgot_password_is_throttled_per_email_and_per_ip(app, web, acme, smtp, work):
    per_email = app.config["PASSWORD_LINKS_PER_EMAIL_HOUR"]
    for n in range(per_email):
        assert forgot(web, "acme@owner.test", ip=f"10.0.1.{n}").status_code == 302
    throttled = forgot(web, "acme@owner.test", ip="10.0.2.1")
    assert throttled.status_code == 429 and "Too many requests" in throttled.get_data(as_text=True)
    assert "Retry-After" in throttled.headers
    work()
    assert len(mails_to(smtp, "acme@owner.test")) == per_email

    per_ip = app.config["PASSWORD_LINKS_PER_IP_HOUR"]
    for n in range(per_ip):  # unknown e-mails count the same as known ones
        assert forgot(web, f"someone{n}@owner.test", ip="10.0.3.1").status_code == 302
    assert forgot(web, "another@owner.test", ip="10.0.3.1").status_code == 429
    assert forgot(web, "another@owner.test", ip="10.0.3.2").status_code == 302


# Resellers and staff send the link to an owner


@pytest.fixture
def resell(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.example.net")
    rival = make_account("Rival", kind="reseller", email="boss@rival.test")
    stranger = make_account("Stranger", parent=rival, email="owner@stranger.test")
    return reseller, bakery, stranger


def test_a_reseller_sends_a_set_password_link_to_a_sub_account_owner(web, resell, smtp, work):
    reseller, bakery, _ = resell
    owner = bakery.users[0]
    web.login("boss@resell.test")
    url = f"/reseller/logins/{owner.id}/password-link"
    page = web.get("/reseller/accounts").get_data(as_text=True)
    assert f'action="{url}"' in page and "Send a set-password link" in page

    sent = web.submit("/reseller/accounts", {}, post_url=url)
    assert sent.status_code == 302
    assert "owner@bakery.example.net" in web.get(sent.location).get_data(as_text=True)
    work()
    [message] = mails_to(smtp, "owner@bakery.example.net")
    assert "Resell" in mail_body(message, "plain")
    path = link_in(message)
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.password_link")).all()
    assert (event.actor_id, event.object_id, event.account_id) == (reseller.users[0].id, owner.id, bakery.id)
    assert path.rsplit("/", 1)[1] not in json.dumps(event.fields)

    log_out(web)
    assert use_link(web, path).status_code == 302
    assert web.get(path).status_code == 404  # once
    assert web.login("owner@bakery.example.net", NEW_PASSWORD).status_code == 302


def test_a_reseller_sends_only_for_its_own_sub_accounts(web, resell, smtp, work, make_staff):
    reseller, _, stranger = resell
    make_staff()
    web.login("boss@resell.test")
    token = web.token("/reseller/accounts")
    staff = user_named("staff@hostdeck.test")
    for target in (stranger.users[0], reseller.users[0], staff):  # another reseller's customer, its own, staff
        refused = web.client.post(f"/reseller/logins/{target.id}/password-link", data={"csrf_token": token})
        assert refused.status_code == 404, target
    assert web.client.post("/reseller/logins/987654321/password-link", data={"csrf_token": token}).status_code == 404
    owner = resell[1].users[0]
    assert web.get(f"/reseller/logins/{owner.id}/password-link").status_code == 405  # GET does nothing
    assert web.client.post(f"/reseller/logins/{owner.id}/password-link").status_code == 400  # no CSRF token
    work()
    assert smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_staff_send_a_set_password_link_from_the_account_page(web, acme, make_staff, smtp, work):
    staff = make_staff()
    owner = acme.users[0]
    web.login("staff@hostdeck.test")
    url = f"/staff/logins/{owner.id}/password-link"
    page = web.get(f"/staff/accounts/{acme.id}").get_data(as_text=True)
    assert f'action="{url}"' in page and "Send a set-password link" in page
    assert web.get(url).status_code == 405
    sent = web.submit(f"/staff/accounts/{acme.id}", {}, post_url=url)
    assert sent.status_code == 302 and sent.location.endswith(f"/staff/accounts/{acme.id}")
    work()
    [message] = mails_to(smtp, "acme@owner.test")
    assert "support" in mail_body(message, "plain").lower()
    link_in(message)
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.password_link")).all()
    assert (event.actor_id, event.object_id, event.account_id) == (staff.id, owner.id, acme.id)


def test_staff_cannot_send_a_link_to_staff_or_admins(web, make_staff, smtp, work):
    make_staff()
    admin = make_staff("admin@hostdeck.test", role=Role.ADMIN)
    web.login("staff@hostdeck.test")
    refused = web.submit("/staff/accounts", {}, post_url=f"/staff/logins/{admin.id}/password-link")
    assert refused.status_code == 302
    assert "Forgot password?" in web.get(refused.location).get_data(as_text=True)
    work()
    assert smtp.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "user.password_link")) == 0


def test_customers_cannot_use_the_staff_button(web, acme, make_account, smtp, work):
    other = make_account("Other")
    web.login("acme@owner.test")
    assert web.submit("/account/", {}, post_url=f"/staff/logins/{other.users[0].id}/password-link").status_code == 404
    work()
    assert smtp.messages == []


# A suspended login


def test_a_suspended_login_with_the_right_password_is_told_whom_to_contact(web, resell, acme):
    _, bakery, _ = resell
    bakery.active = False
    acme.active = False
    db.session.commit()
    right = attempt(web, "owner@bakery.example.net", PASSWORD).get_data(as_text=True)
    assert "suspended" in right and "Contact Resell" in right and "Wrong e-mail or password." not in right
    wrong = attempt(web, "owner@bakery.example.net", "not the password").get_data(as_text=True)
    assert "Wrong e-mail or password." in wrong and "suspended" not in wrong and "Resell" not in wrong
    top_level = attempt(web, "acme@owner.test", PASSWORD).get_data(as_text=True)
    assert "suspended" in top_level and "Contact support" in top_level
    assert not logged_in(web.client)


def test_a_suspended_user_on_an_active_account_is_told_too(web, acme):
    db.session.execute(sa.update(User).where(User.email == "acme@owner.test").values(active=False))
    db.session.commit()
    right = attempt(web, "acme@owner.test", PASSWORD).get_data(as_text=True)
    assert "suspended" in right and "Contact support" in right
    assert db.session.scalar(sa.select(Account.active).where(Account.id == acme.id)) is True
    assert not logged_in(web.client)
