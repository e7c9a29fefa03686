"""Personal access tokens: made on the page (shown once, only a hash kept), refused when expired, revoked,
out of scope or from another network, never made while impersonating, and each one rate-limited alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import ApiToken, utcnow
from portal.security import tokens
from tests.helpers import api_token, bearer, dump_database, page_text, user_named

PROBLEM = "application/problem+json"
SHOWN_SECRET = re.compile(r'value="(hdpat_[A-Za-z0-9_-]+)"')
LIST = "/api/v1/mailboxes"


@pytest.fixture
def acme(make_account):
    return make_account("Acme", domains=("acme.test",))


def _make(web, **fields):
    data = {"name": "deploy", "expires_at": (utcnow() + timedelta(days=30)).date().isoformat(), **fields}
    data.setdefault("scopes", ["mail:read"])
    return web.submit("/account/tokens", data)


def _token(name: str) -> ApiToken:
    return db.session.query(ApiToken).filter_by(name=name).one()


def test_the_page_shows_the_new_token_once_and_keeps_only_its_hash(web, client, acme):
    web.login("acme@owner.test")
    page = web.get("/account/tokens")
    assert page.status_code == 200 and "API tokens" in page.get_data(as_text=True)
    made = _make(web, name="canary", scopes=["mail:read", "dns:write"], networks="127.0.0.1\n\n10.0.0.0/8")
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = SHOWN_SECRET.search(made.get_data(as_text=True)).group(1)
    token = _token("canary")
    assert token.scopes == ["dns:write", "mail:read"] and token.networks == ["127.0.0.1/32", "10.0.0.0/8"]
    assert secret not in page_text(web.get("/account/tokens"))  # once only
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    dumped = dump_database()
    assert secret not in dumped and tokens.digest(secret) in dumped
    assert client.get(LIST, headers=bearer(secret)).status_code == 200


def test_an_expired_token_is_401(client, acme):
    secret = api_token()
    assert client.get(LIST, headers=bearer(secret)).status_code == 200
    _token("test").expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    refused = client.get(LIST, headers=bearer(secret))
    assert refused.status_code == 401 and refused.content_type == PROBLEM
    assert refused.get_json()["status"] == 401


def test_revoking_on_the_page_takes_effect_at_once(web, client, acme):
    secret = api_token()
    assert client.get(LIST, headers=bearer(secret)).status_code == 200
    web.login("acme@owner.test")
    token = _token("test")
    revoked = web.submit("/account/tokens", {}, post_url=f"/account/tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    assert "Revoked" in web.get("/account/tokens").get_data(as_text=True)
    refused = client.get(LIST, headers=bearer(secret))
    assert refused.status_code == 401 and refused.content_type == PROBLEM


def test_revoking_another_logins_token_is_404(web, make_account, acme):
    make_account("Other", domains=("other.test",))
    api_token("other@owner.test", name="theirs")
    web.login("acme@owner.test")
    theirs = _token("theirs")
    assert web.submit("/account/tokens", {}, post_url=f"/account/tokens/{theirs.id}/revoke").status_code == 404
    assert web.submit("/account/tokens", {}, post_url=f"/account/tokens/{2**31 - 1}/revoke").status_code == 404
    assert _token("theirs").revoked_at is None


def test_a_token_without_the_scope_is_403(client, acme):
    secret = api_token(scopes=["mail:read"])
    assert client.get(LIST, headers=bearer(secret)).status_code == 200
    refused = client.post(LIST, json={"local_part": "x"}, headers=bearer(secret))
    assert refused.status_code == 403 and refused.content_type == PROBLEM
    assert "mail:write" in refused.get_json()["detail"]


def test_a_token_is_accepted_only_from_its_networks(client, acme):
    elsewhere = api_token(name="elsewhere", networks=["10.0.0.0/8"])
    here = api_token(name="here", networks=["127.0.0.0/8"])
    refused = client.get(LIST, headers=bearer(elsewhere))
    assert refused.status_code == 403 and refused.content_type == PROBLEM
    assert client.get(LIST, headers=bearer(here)).status_code == 200


def test_no_token_is_made_while_impersonating(web, make_account, make_staff, acme):
    make_staff()
    web.login("staff@hostdeck.test")
    subject = user_named("acme@owner.test")
    assert web.submit("/", {"reason": "ticket #4711"}, post_url=f"/impersonate/{subject.id}").status_code == 302
    assert web.get("/account/tokens").status_code == 200
    refused = _make(web)
    assert refused.status_code == 403
    assert db.session.query(ApiToken).count() == 0


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_REQUESTS_PER_MINUTE": 3}


def test_one_tokens_rate_never_touches_another(client, acme):
    first = api_token(name="first")
    second = api_token(name="second")
    for _ in range(3):
        assert client.get(LIST, headers=bearer(first)).status_code == 200
    limited = client.get(LIST, headers=bearer(first))
    assert limited.status_code == 429 and limited.content_type == PROBLEM
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get(LIST, headers=bearer(second)).status_code == 200


def test_the_page_lists_the_last_use_and_address(web, client, acme):
    secret = api_token(name="used")
    web.login("acme@owner.test")
    assert "Never" in web.get("/account/tokens").get_data(as_text=True)
    assert client.get(LIST, headers=bearer(secret)).status_code == 200
    token = _token("used")
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"
    assert "from 127.0.0.1" in web.get("/account/tokens").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expires_at": (utcnow() + timedelta(days=400)).date().isoformat()}, "expires_at"),
        ({"expires_at": "2020-01-01"}, "expires_at"),
        ({"expires_at": "not a date"}, "expires_at"),
        ({"expires_at": ""}, "expires_at"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["accounts:write"]}, "scopes"),
        ({"name": ""}, "name"),
        ({"name": "a\u2028b"}, "name"),
        ({"networks": "not-a-network"}, "networks"),
    ],
)
def test_bad_input_is_refused_at_its_field(web, acme, fields, field):
    web.login("acme@owner.test")
    refused = _make(web, **fields)
    assert refused.status_code == 200
    html = refused.get_data(as_text=True)
    assert "is-invalid" in html and "hdpat_" not in html.replace('"hdpat_', "")
    assert db.session.query(ApiToken).count() == 0
    assert re.search(
        rf'(id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"|name="{field}"[^>]*is-invalid)', html
    ) or (field == "scopes" and "invalid-feedback d-block" in html), html
