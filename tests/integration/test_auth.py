"""Logging in and out: generic errors, throttling, session rotation, cookies and headers."""

import re

import pytest
from passlib.hash import argon2

from portal.extensions import db
from portal.models import Role, User
from portal.security.passwords import hash_password
from tests.helpers import PASSWORD, user_named


@pytest.fixture
def customer(make_account):
    return make_account("Acme", domains=("acme.test",))


def attempt(web, email, password, ip="10.0.0.1"):
    return web.submit("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_login_and_logout(web, customer):
    response = attempt(web, "ACME@owner.test", PASSWORD)
    assert response.status_code == 302
    assert web.get("/").status_code == 200
    assert web.get("/logout").status_code == 405  # state changes only by POST
    assert web.logout().status_code == 302
    assert web.get("/").status_code == 302


def test_bad_credentials_get_one_generic_error(web, customer):
    wrong_password = attempt(web, "acme@owner.test", "not the password").get_data(as_text=True)
    unknown_user = attempt(web, "nobody@owner.test", "not the password").get_data(as_text=True)
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731
    assert "Wrong e-mail or password." in wrong_password
    assert strip(wrong_password) == strip(unknown_user.replace("nobody@owner.test", "acme@owner.test"))


def test_eleventh_failure_for_one_account_is_429(web, customer):
    for i in range(10):
        assert attempt(web, "acme@owner.test", "wrong", ip=f"10.0.1.{i}").status_code == 200
    assert attempt(web, "acme@owner.test", "wrong", ip="10.0.2.1").status_code == 429
    # Even the right password waits now: the account is under attack.
    assert attempt(web, "acme@owner.test", PASSWORD, ip="10.0.2.2").status_code == 429


def test_eleventh_failure_from_one_ip_is_429(web, customer):
    for i in range(10):
        assert attempt(web, f"user{i}@owner.test", "wrong").status_code == 200
    assert attempt(web, "someone@owner.test", "wrong").status_code == 429
    assert attempt(web, "acme@owner.test", PASSWORD, ip="10.9.9.9").status_code == 302


def test_session_is_rotated_on_login(web, client, customer):
    web.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    attempt(web, "acme@owner.test", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id") == str(customer.users[0].id)


def test_login_rehashes_old_parameters(web, customer):
    user = user_named("acme@owner.test")
    user.password_hash = argon2.using(type="ID", rounds=2, memory_cost=8192).hash(PASSWORD)
    db.session.commit()
    old = user.password_hash
    attempt(web, "acme@owner.test", PASSWORD)
    db.session.refresh(user)
    assert user.password_hash != old and user.password_hash.startswith("$argon2id$")
    assert argon2.verify(PASSWORD, user.password_hash)
    assert user.last_login_at is not None and user.last_login_at.tzinfo is not None


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "/%0a/x\n"])
def test_next_only_goes_to_this_site(web, customer, target):
    response = web.submit(
        "/login", {"email": "acme@owner.test", "password": PASSWORD}, post_url="/login", query_string={"next": target}
    )
    assert response.headers["Location"] == "/"


def test_next_keeps_a_local_path(web, customer):
    response = web.submit(
        "/login",
        {"email": "acme@owner.test", "password": PASSWORD},
        post_url="/login",
        query_string={"next": "/mailboxes/?page=2"},
    )
    assert response.headers["Location"] == "/mailboxes/?page=2"


def test_cookie_and_security_headers(web, customer):
    response = attempt(web, "acme@owner.test", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = web.get("/mailboxes/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    html = page.get_data(as_text=True)
    assert "<script" in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script found"
    assert "cdn" not in html.lower()


def test_post_without_csrf_token_is_refused(web, customer):
    attempt(web, "acme@owner.test", PASSWORD)
    response = web.client.post("/mailboxes/new", data={"local_part": "x"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/mailboxes/", "/mailboxes/new", "/mailboxes/1", "/mailboxes/status"])
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_page_behind_login_is_never_cached(app, web, customer):
    attempt(web, "acme@owner.test", PASSWORD)
    plain = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in ("static", "auth.logout")
    ]
    assert len(plain) > 10
    for path in plain:
        response = web.client.get(path)
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    saved = web.submit("/mailboxes/new", {"local_part": ""})
    assert "no-store" in saved.headers.get("Cache-Control", "")


def test_pages_before_login_are_never_cached_either(app, client, web):
    """A half-finished login shows a two-factor seed, a reset link a set-password form: none is kept."""
    for path in ("/login", "/login/two-factor", "/set-password/x"):
        assert "no-store" in client.get(path).headers.get("Cache-Control", ""), path
    db.session.add(User(email="new@hostdeck.test", password_hash=hash_password(PASSWORD), role=Role.STAFF))
    db.session.commit()
    assert attempt(web, "new@hostdeck.test", PASSWORD).headers["Location"] == "/login/two-factor/setup"
    setup = web.client.get("/login/two-factor/setup")
    assert 'id="totp-key"' in setup.get_data(as_text=True)  # the seed is on this page
    assert "no-store" in setup.headers.get("Cache-Control", "")
    with client.get("/static/css/app.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
