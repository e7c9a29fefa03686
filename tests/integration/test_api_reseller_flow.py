"""A reseller's whole flow through the API only, on the real Dovecot testbed: a sub-account (its owner
mailed a set-password link), its domain, a mailbox polled until applied and logged in to over IMAP,
then suspended and resumed. Another reseller's sub-account, and one a kept token was not given, are
the same 404 as an id that does not exist.
"""

from __future__ import annotations

import json
import re

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Domain, Server
from tests.helpers import MAILBOX_PASSWORD, add_server, api_token, bearer, mail_body, mailing_config

PUBLIC = "https://portal.example"
LINK = re.compile(re.escape(PUBLIC) + r"/set-password/([A-Za-z0-9_.\-]+)")
OWNER = "owner@bakery.example.net"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return mailing_config(redis_server, sshd, smtp, PUBLIC_URL=PUBLIC)


@pytest.fixture
def reseller(make_account):
    return make_account("Resell", kind="reseller", email="boss@resell.test")


@pytest.fixture
def token(reseller):
    return api_token("boss@resell.test")


def until_applied(client, token, url, work, tries=10) -> dict:
    """Poll a Location, running the worker while it is pending."""
    for _ in range(tries):
        polled = client.get(url, headers=bearer(token))
        assert polled.status_code == 200, polled.data
        body = polled.get_json()
        if body["status"] != "pending":
            return body
        work()
    raise AssertionError(f"{url} still pending: {body}")


def create_sub_account(client, token, name="Bakery", owner=OWNER):
    data = {"name": name, "owner_email": owner, "emergency_email": "help@contact.example.org"}
    return client.post("/api/v1/accounts", json=data, headers=bearer(token))


@pytest.fixture
def dns1(app, named):
    """BIND on loopback: the sub-account's domain becomes a zone there."""
    return add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")


def test_the_reseller_flow_through_the_api(client, token, reseller, mail_server, dovecot, dns1, smtp, work):
    created = create_sub_account(client, token)
    assert created.status_code == 202, created.data
    account = created.get_json()
    assert account["name"] == "Bakery" and account["suspended"] is False and account["owners"] == [OWNER]
    location = created.headers["Location"]
    assert location.endswith(f"/api/v1/accounts/{account['id']}")

    work()  # the worker mails the owner a set-password link; the answer never holds it
    [message] = [m for m in smtp.messages if m["To"] == OWNER]
    link = LINK.search(mail_body(message, "plain"))
    assert link and "Resell" in mail_body(message, "plain")
    assert "within 7 days" in mail_body(message, "plain")  # the new owner's link, as the page shows it
    assert link.group(1) not in created.get_data(as_text=True) and "token" not in account
    assert link.group(1) not in json.dumps([e.fields for e in db.session.query(AuditEvent)])
    opened = client.get(f"/set-password/{link.group(1)}")
    assert opened.status_code == 200 and OWNER in opened.get_data(as_text=True)  # the set-password form

    base = f"/api/v1/accounts/{account['id']}"
    added = client.post(f"{base}/domains", json={"name": "bakery.test"}, headers=bearer(token))
    assert added.status_code == 202, added.data
    domain = db.session.get(Domain, added.get_json()["id"])
    assert domain.account_id == account["id"] and added.get_json()["verified"]  # .test counts as proven here
    made = client.post(
        f"{base}/mailboxes",
        json={"local_part": "orders", "domain_id": domain.id, "password": MAILBOX_PASSWORD},
        headers=bearer(token),
    )
    assert made.status_code == 202, made.data
    mailbox = made.get_json()
    assert mailbox["account_id"] == account["id"] and mailbox["status"] == "pending"
    assert made.headers["Location"].endswith(f"{base}/mailboxes/{mailbox['id']}")
    assert until_applied(client, token, made.headers["Location"], work)["status"] == "applied"
    assert dovecot.wait_login("orders@bakery.test", MAILBOX_PASSWORD)
    zone = client.get(f"{base}/domains/{domain.id}", headers=bearer(token)).get_json()
    assert zone["status"] == "applied"  # a zone on dns1 too

    suspended = client.post(f"{base}/suspend", headers=bearer(token))
    assert suspended.status_code == 202 and suspended.get_json()["suspended"] is True
    assert suspended.get_json()["status"] == "pending"
    assert until_applied(client, token, suspended.headers["Location"], work)["status"] == "applied"
    assert not dovecot.wait_login("orders@bakery.test", MAILBOX_PASSWORD, expect=False)

    resumed = client.post(f"{base}/resume", headers=bearer(token))
    assert resumed.status_code == 202 and resumed.get_json()["suspended"] is False
    assert until_applied(client, token, resumed.headers["Location"], work)["status"] == "applied"
    assert dovecot.wait_login("orders@bakery.test", MAILBOX_PASSWORD)

    listed = client.get("/api/v1/accounts", headers=bearer(token)).get_json()
    assert [(a["name"], a["usage"]["mailboxes"], a["usage"]["domains"]) for a in listed] == [("Bakery", 1, 1)]


def test_another_resellers_sub_account_is_404(client, token, reseller, make_account):
    rival = make_account("Rival", kind="reseller", email="boss@rival.test")
    theirs = make_account("Theirs", parent=rival, email="owner@theirs.test", domains=("theirs.test",))
    for method, path in [
        ("GET", f"/api/v1/accounts/{theirs.id}"),
        ("POST", f"/api/v1/accounts/{theirs.id}/suspend"),
        ("POST", f"/api/v1/accounts/{theirs.id}/resume"),
        ("PATCH", f"/api/v1/accounts/{theirs.id}/limits"),
        ("DELETE", f"/api/v1/accounts/{theirs.id}"),
        ("GET", f"/api/v1/accounts/{theirs.id}/mailboxes"),
        ("GET", f"/api/v1/accounts/{theirs.id}/activity"),
        ("GET", "/api/v1/accounts/987654321"),
    ]:
        answer = client.open(path, method=method, json={} if method == "PATCH" else None, headers=bearer(token))
        assert answer.status_code == 404, (method, path, answer.data)
        assert answer.content_type == "application/problem+json"
        assert answer.get_json()["detail"] == "There is nothing here, or it is not yours to see."
    db.session.refresh(theirs)
    assert theirs.active and theirs.deleting_at is None
    assert client.get("/api/v1/accounts", headers=bearer(token)).get_json() == []


def test_a_kept_token_touches_only_its_sub_accounts(client, reseller, make_account):
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.test")
    other = make_account("Other", parent=reseller, email="owner@other.test")
    kept = api_token("boss@resell.test", account_ids=[bakery.id], name="bakery only")

    listed = client.get("/api/v1/accounts", headers=bearer(kept))
    assert [a["id"] for a in listed.get_json()] == [bakery.id]
    assert client.get(f"/api/v1/accounts/{bakery.id}", headers=bearer(kept)).status_code == 200
    for method, path in [
        ("GET", f"/api/v1/accounts/{other.id}"),
        ("POST", f"/api/v1/accounts/{other.id}/suspend"),
        ("DELETE", f"/api/v1/accounts/{other.id}"),
        ("GET", f"/api/v1/accounts/{other.id}/mailboxes"),
    ]:
        answer = client.open(path, method=method, headers=bearer(kept))
        assert answer.status_code == 404, (method, path)
        assert answer.content_type == "application/problem+json"
    db.session.refresh(other)
    assert other.active and other.deleting_at is None

    refused = create_sub_account(client, kept, name="New")
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    assert "kept to some sub-accounts" in json.loads(refused.data)["detail"]
    assert [a.name for a in reseller.children] == ["Bakery", "Other"]
