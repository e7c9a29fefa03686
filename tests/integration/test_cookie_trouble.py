"""Cookie trouble says so: a form posted back without the session cookie its page set (the browser
dropped it: Secure cookies over plain http, or cookies blocked) is told why, not "Form expired".
Every form before the login is walked: every public route that takes a POST."""

from __future__ import annotations

import pytest

from portal.services.password_links import make_token
from tests.helpers import CSRF, page_text, user_named

SECURE = "This portal&#39;s cookies are Secure, so browsers keep them only over https"
BLOCKED = "Allow cookies for"
EXPIRED = "Form expired"


@pytest.fixture
def app_config():
    return {}


@pytest.fixture
def customer(make_account):
    return make_account("Acme", domains=("acme.test",))


def dropped(client, url: str, data: dict, **kw):
    """GET the form (which sets the cookie), then POST it as a browser that did not keep the cookie."""
    page = client.get(url, **kw)
    found = CSRF.search(page.get_data(as_text=True))
    token = found.group(1) if found else ""
    client.delete_cookie("session", domain="localhost")
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def test_secure_cookies_over_http_say_open_it_over_https(app, client, customer):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = dropped(client, "/login?next=/mailboxes/", {"email": "acme@owner.test", "password": "x"})
    html = page_text(response)
    assert response.status_code == 400
    assert SECURE in html and "open https://localhost/login?next=/mailboxes/ instead" in html
    assert EXPIRED not in html


def test_a_browser_on_https_behind_a_proxy_is_not_told_to_use_https(app, client, customer):
    """The browser's Origin says https, though the portal saw http (a proxy ProxyFix does not trust)."""
    app.config["SESSION_COOKIE_SECURE"] = True
    response = dropped(client, "/login", {"email": "a@b.test"}, headers={"Origin": "https://localhost"})
    assert BLOCKED in page_text(response) and SECURE not in page_text(response)


def test_without_secure_cookies_it_says_cookies_are_blocked(client, customer):
    response = dropped(client, "/login", {"email": "acme@owner.test", "password": "x"})
    html = page_text(response)
    assert response.status_code == 400
    assert "did not send back the login cookie" in html and BLOCKED in html and SECURE not in html


def test_secure_cookies_over_https_say_cookies_are_blocked(app, client, customer):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = dropped(client, "/login", {"email": "acme@owner.test"}, base_url="https://localhost")
    assert BLOCKED in page_text(response) and SECURE not in page_text(response)


def test_a_stale_token_with_its_cookie_is_still_form_expired(app, client, customer):
    app.config["SESSION_COOKIE_SECURE"] = True
    client.get("/login")
    response = client.post("/login", data={"email": "acme@owner.test", "password": "x", "csrf_token": "stale"})
    html = page_text(response)
    assert response.status_code == 400 and EXPIRED in html and SECURE not in html


def public_posts(app) -> list[str]:
    """Every route anyone may POST to: the forms before a login."""
    urls = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "POST" in (rule.methods or ()) and getattr(view, "access_rule", None) == "public":
            urls.append(rule.rule.replace("<token>", "some-token"))
    return urls


def test_the_pre_login_forms_are_all_walked(app):
    assert {
        "/login",
        "/login/two-factor",
        "/login/two-factor/setup",
        "/forgot-password",
        "/reset-password",
        "/set-password/some-token",
    } <= set(public_posts(app))


def test_every_form_before_the_login_says_so(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    for url in public_posts(app):
        client.get("/login")  # a session cookie, which the browser then drops
        client.delete_cookie("session", domain="localhost")
        response = client.post(url, data={"csrf_token": "whatever"})
        assert response.status_code == 400, url
        assert SECURE in page_text(response) and f"open https://localhost{url} instead" in page_text(response), url


def test_an_opened_password_link_whose_cookie_was_dropped_says_so(app, client, customer):
    app.config["SESSION_COOKIE_SECURE"] = True
    opened = client.get(f"/reset-password/{make_token(user_named('acme@owner.test'))}")
    assert opened.status_code == 302
    client.delete_cookie("session", domain="localhost")
    response = client.get(opened.location)
    assert response.status_code == 400
    assert "open the link from the e-mail again with https:// at its start" in page_text(response)
    # Without having opened a link, the page is the plain refusal it was.
    assert client.get("/reset-password").status_code == 404
