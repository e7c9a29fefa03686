"""Addresses and forwards through the API, on mx1 (Dovecot and the Postfix maps): made, changed and
deleted through the services the pages use, refusals at their field, another account's the same 404."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Address
from tests.helpers import MAILBOX_PASSWORD, api_token, bearer, count, domain_id

pytestmark = pytest.mark.usefixtures("mx")


@pytest.fixture
def mx(app, mailhost):
    """mx1, added once the app is up."""
    return mailhost


@pytest.fixture
def token(make_account):
    make_account("Acme", domains=("acme.test",))
    return api_token()


@pytest.fixture
def other(make_account):
    make_account("Other", domains=("other.test",))
    return api_token("other@owner.test")


def _mailbox(client, token, local_part: str = "alice", domain: str = "acme.test") -> int:
    data = {"local_part": local_part, "domain_id": domain_id(domain), "password": MAILBOX_PASSWORD}
    created = client.post("/api/v1/mailboxes", json={**data, "with_address": False}, headers=bearer(token))
    assert created.status_code == 202, created.data
    return int(created.get_json()["id"])


def _address(client, token, **body):
    data = {"local_part": "info", "domain_id": domain_id("acme.test"), **body}
    return client.post("/api/v1/addresses", json=data, headers=bearer(token))


def test_an_address_is_made_changed_and_deleted(client, token, work):
    alice = _mailbox(client, token)
    created = _address(client, token, mailbox_ids=[alice], forwards=["Someone@Example.ORG"])
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert body["address"] == "info@acme.test" and body["catch_all"] is False and body["status"] == "pending"
    assert body["mailbox_ids"] == [alice] and body["forwards"] == ["someone@example.org"]
    url = created.headers["Location"]
    work()
    assert client.get(url, headers=bearer(token)).get_json()["status"] == "applied"
    listed = client.get(f"/api/v1/addresses?domain_id={domain_id('acme.test')}", headers=bearer(token))
    assert [a["address"] for a in listed.get_json()] == ["info@acme.test"]
    changed = client.patch(url, json={"forwards": []}, headers=bearer(token))
    assert changed.status_code == 202, changed.data
    assert changed.get_json()["forwards"] == [] and changed.get_json()["mailbox_ids"] == [alice]
    deleted = client.delete(url, headers=bearer(token))
    assert deleted.status_code == 202 and deleted.get_json()["status"] == "deleting"
    work()
    assert client.get(url, headers=bearer(token)).status_code == 404
    assert count(Address) == 0


def test_a_catch_all_forwards_every_other_name(client, token):
    created = _address(client, token, local_part="", catch_all=True, forwards=["all@example.org"])
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert body["catch_all"] is True and body["address"] == "@acme.test" and body["name"] == "*@acme.test"
    again = _address(client, token, catch_all=True, forwards=["all@example.org"])
    assert again.status_code == 422
    assert again.get_json()["errors"] == {"local_part": ["The catch-all for acme.test already exists."]}


def test_a_refusal_is_a_problem_at_its_field(client, token):
    nowhere = _address(client, token)
    assert nowhere.status_code == 422
    assert nowhere.get_json()["errors"] == {"mailbox_ids": ["Choose a mailbox or enter a forward address."]}
    two = _address(client, token, forwards=["a@example.org, b@example.org"])
    assert two.status_code == 422 and "forwards" in two.get_json()["errors"]
    control = _address(client, token, forwards=["a\u2028@example.org"])
    assert control.status_code == 422 and "forwards.0" in control.get_json()["errors"]
    assert count(Address) == 0


def test_another_accounts_address_and_mailboxes_are_not_to_be_had(client, token, other):
    theirs_box = _mailbox(client, other, "bob", "other.test")
    theirs = _address(client, other, domain_id=domain_id("other.test"), mailbox_ids=[theirs_box])
    assert theirs.status_code == 202, theirs.data
    url = f"/api/v1/addresses/{theirs.get_json()['id']}"
    for method in ("get", "delete"):
        answer = getattr(client, method)(url, headers=bearer(token))
        assert answer.status_code == 404 and answer.content_type == "application/problem+json", method
    assert client.patch(url, json={"forwards": ["x@example.org"]}, headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/addresses", headers=bearer(token)).get_json() == []
    borrowed = _address(client, token, mailbox_ids=[theirs_box])
    assert borrowed.status_code == 422
    assert borrowed.get_json()["errors"] == {"mailbox_ids": ["Choose only your own mailboxes."]}
    on_theirs = _address(client, token, domain_id=domain_id("other.test"), forwards=["x@example.org"])
    assert on_theirs.get_json()["errors"] == {"domain_id": ["Choose one of your own domains."]}
    address = db.session.get(Address, theirs.get_json()["id"])
    assert address.forwards == [] and [m.id for m in address.mailboxes] == [theirs_box]
