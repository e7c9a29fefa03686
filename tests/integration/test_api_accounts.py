"""Sub-accounts' limits and deletion through the API, the activity feed, and the Activity page naming
the API token a change came through."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Plan
from tests.helpers import MAILBOX_PASSWORD, Web, api_token, bearer, domain_id


@pytest.fixture
def reseller(make_account):
    account = make_account("Resell", kind="reseller", email="boss@resell.test")
    account.max_mailboxes = 10
    db.session.commit()
    return account


@pytest.fixture
def bakery(make_account, reseller):
    return make_account("Bakery", parent=reseller, email="owner@bakery.test", domains=("bakery.test",))


@pytest.fixture
def token(reseller):
    return api_token("boss@resell.test", name="billing")


def test_limits_within_the_resellers_own(client, token, bakery):
    url = f"/api/v1/accounts/{bakery.id}"
    over = client.patch(f"{url}/limits", json={"mailboxes": 11}, headers=bearer(token))
    assert over.status_code == 422 and "mailboxes" in over.get_json()["errors"]
    changed = client.patch(f"{url}/limits", json={"mailboxes": 3, "domains": 2}, headers=bearer(token))
    assert changed.status_code == 202, changed.data
    assert changed.headers["Location"].endswith(url)
    assert (changed.get_json()["limits"]["mailboxes"], changed.get_json()["limits"]["domains"]) == (3, 2)
    kept = client.patch(f"{url}/limits", json={"domains": 5}, headers=bearer(token)).get_json()["limits"]
    assert (kept["mailboxes"], kept["domains"]) == (3, 5)  # PATCH: the others stay
    whole = client.put(f"{url}/limits", json={"mailboxes": 4}, headers=bearer(token)).get_json()["limits"]
    assert (whole["mailboxes"], whole["domains"]) == (4, None)  # PUT: one left out is no limit
    negative = client.patch(f"{url}/limits", json={"quota_mb": -1}, headers=bearer(token))
    assert negative.status_code == 422 and "quota_mb" in negative.get_json()["errors"]


def test_a_stale_if_match_changes_no_limit(client, token, bakery):
    url = f"/api/v1/accounts/{bakery.id}"
    tag = client.get(url, headers=bearer(token)).headers["ETag"]
    assert (
        client.patch(f"{url}/limits", json={"mailboxes": 2}, headers=bearer(token, **{"If-Match": tag})).status_code
        == 202
    )
    stale = client.patch(f"{url}/limits", json={"mailboxes": 5}, headers=bearer(token, **{"If-Match": tag}))
    assert stale.status_code == 412
    db.session.refresh(bakery)
    assert bakery.max_mailboxes == 2


def test_the_plan_an_account_is_on(client, token, bakery):
    db.session.add(Plan(name="Small", max_mailboxes=5))
    db.session.commit()
    url = f"/api/v1/accounts/{bakery.id}"
    assert client.get(url, headers=bearer(token)).get_json()["plan"] is None
    on = client.put(f"{url}/limits", json={"mailboxes": 5}, headers=bearer(token))
    assert on.get_json()["plan"] == "Small"


def test_delete_then_a_second_delete_is_refused(client, token, bakery):
    url = f"/api/v1/accounts/{bakery.id}"
    deleted = client.delete(url, headers=bearer(token))
    assert deleted.status_code == 202, deleted.data
    assert deleted.get_json()["deleting_at"] is not None
    assert client.get(url, headers=bearer(token)).get_json()["status"] == "deleted"  # no server held anything
    again = client.delete(url, headers=bearer(token))
    assert again.status_code == 422 and again.content_type == "application/problem+json"
    assert again.get_json()["detail"] == "Bakery is already being removed from the servers."
    assert client.get("/api/v1/accounts", headers=bearer(token)).get_json() == []


def test_a_create_refused_at_its_field(client, token, bakery):
    data = {"name": "Bakery", "owner_email": "new@bakery.test", "emergency_email": "help@contact.example.org"}
    taken = client.post("/api/v1/accounts", json=data, headers=bearer(token))
    assert taken.status_code == 422 and "name" in taken.get_json()["errors"]
    control = client.post("/api/v1/accounts", json={**data, "name": "a\u2028b"}, headers=bearer(token))
    assert control.status_code == 422 and "name" in control.get_json()["errors"]


def test_a_customer_token_has_no_accounts(client, make_account):
    make_account("Acme")
    customer = api_token("acme@owner.test")
    refused = client.get("/api/v1/accounts", headers=bearer(customer))
    assert refused.status_code == 403 and "accounts:read" in refused.get_json()["detail"]


def test_activity_in_raw_fields_and_on_the_page(client, token, bakery, reseller, mail_server):
    mailbox = {"local_part": "orders", "domain_id": domain_id("bakery.test"), "password": MAILBOX_PASSWORD}
    made = client.post(f"/api/v1/accounts/{bakery.id}/mailboxes", json=mailbox, headers=bearer(token))
    assert made.status_code == 202, made.data
    assert (
        client.patch(f"/api/v1/accounts/{bakery.id}/limits", json={"mailboxes": 5}, headers=bearer(token)).status_code
        == 202
    )

    events = client.get("/api/v1/activity", headers=bearer(token)).get_json()
    saved = next(e for e in events if e["action"] == "mailbox.save")
    assert saved["object_type"] == "Mailbox" and saved["object_name"] == "orders@bakery.test"
    assert (saved["actor"], saved["real_actor"], saved["token_name"]) == ("boss@resell.test", None, "billing")
    assert saved["account_id"] == bakery.id and "password" not in saved["fields"]
    assert "account.limits" in [e["action"] for e in events]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)  # oldest first, by id

    inside = client.get(f"/api/v1/accounts/{bakery.id}/activity?limit=1", headers=bearer(token))
    assert len(inside.get_json()) == 1 and inside.get_json()[0]["account_id"] == bakery.id
    next_url = inside.headers["Link"].split(">")[0].lstrip("<")
    assert f"/api/v1/accounts/{bakery.id}/activity" in next_url
    rest = client.get(next_url, headers=bearer(token)).get_json()
    assert rest and all(e["account_id"] == bakery.id and e["id"] > inside.get_json()[0]["id"] for e in rest)

    # The owner's Activity page says the change came through the reseller's token.
    owner = Web(client)
    owner.login("owner@bakery.test")
    page = owner.get("/activity").get_data(as_text=True)
    assert "boss@resell.test via API token billing" in page


def test_the_page_without_a_token_names_the_person_only(client, make_account):
    account = make_account("Acme", domains=("acme.test",))
    db.session.add(
        AuditEvent(
            actor_id=account.users[0].id,
            account_id=account.id,
            action="domain.save",
            object_type="Domain",
            object_name="acme.test",
        )
    )
    db.session.commit()
    web = Web(client)
    web.login("acme@owner.test")
    page = web.get("/activity").get_data(as_text=True)
    assert "acme@owner.test" in page and "via API token" not in page


def test_options_of_the_sub_accounts(client, token, make_account, reseller):
    listing = client.options("/api/v1/accounts", headers=bearer(token))
    assert listing.status_code == 200 and listing.headers["Allow"] == "GET, POST, OPTIONS"
    assert set(listing.get_json()["fields"]["POST"]) == {"name", "owner_email", "emergency_email"}
    rival = make_account("Rival", kind="reseller", email="boss@rival.test")
    theirs = make_account("Theirs", parent=rival, email="owner@theirs.test")
    assert client.options(f"/api/v1/accounts/{theirs.id}", headers=bearer(token)).status_code == 404
