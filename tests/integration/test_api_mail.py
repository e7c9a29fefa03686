"""Mailboxes through the API, on the real Dovecot testbed: 202 and a Location to poll, then applied."""

from __future__ import annotations

import threading

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Mailbox
from tests.helpers import MAILBOX_PASSWORD, api_token, bearer, count, domain_id, dump_database

pytestmark = pytest.mark.usefixtures("mail_server")


@pytest.fixture
def token(make_account):
    make_account("Acme", domains=("acme.test",))
    return api_token()


def _create(client, token, key=None, **body):
    data = {"local_part": "alice", "domain_id": _domain(client, token), "password": MAILBOX_PASSWORD, **body}
    headers = bearer(token, **({"Idempotency-Key": key} if key else {}))
    return client.post("/api/v1/mailboxes", json=data, headers=headers)


def _domain(client, token) -> int:
    return domain_id("acme.test")


def test_a_mailbox_is_accepted_then_applied(client, token, work):
    created = _create(client, token, key="first", quota_mb=50)
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert body["status"] == "pending" and body["address"] == "alice@acme.test" and "password" not in body
    location = created.headers["Location"]
    assert location.endswith(f"/api/v1/mailboxes/{body['id']}")
    assert [m["status"] for m in client.get("/api/v1/mailboxes", headers=bearer(token)).get_json()] == ["pending"]
    work()
    # The kept list follows the worker's change of status (models/revisions.py).
    assert [m["status"] for m in client.get("/api/v1/mailboxes", headers=bearer(token)).get_json()] == ["applied"]
    polled = client.get(location, headers=bearer(token))
    assert polled.status_code == 200 and polled.get_json()["status"] == "applied"
    assert polled.headers["ETag"]
    event = db.session.query(AuditEvent).filter_by(object_type="Mailbox").one()
    assert event.token_name == "test" and event.fields["local_part"] == "alice" and "password" not in event.fields
    assert MAILBOX_PASSWORD not in dump_database()  # not in the audit, the kept answers or anywhere


def test_the_same_idempotency_key_makes_one_mailbox(client, token):
    first = _create(client, token)
    assert first.status_code == 202
    key = {"Idempotency-Key": "order-17"}
    data = {"local_part": "bob", "domain_id": _domain(client, token), "password": MAILBOX_PASSWORD}
    one = client.post("/api/v1/mailboxes", json=data, headers=bearer(token, **key))
    two = client.post("/api/v1/mailboxes", json=data, headers=bearer(token, **key))
    assert one.status_code == two.status_code == 202
    assert one.get_json() == two.get_json() and two.headers["Idempotent-Replayed"] == "true"
    assert count(Mailbox, Mailbox.local_part == "bob") == 1
    other = client.post("/api/v1/mailboxes", json={**data, "local_part": "carol"}, headers=bearer(token, **key))
    assert other.status_code == 422 and other.content_type == "application/problem+json"


def test_a_stale_if_match_is_412(client, token):
    created = _create(client, token).get_json()
    url = f"/api/v1/mailboxes/{created['id']}"
    tag = client.get(url, headers=bearer(token)).headers["ETag"]
    assert client.patch(url, json={"quota_mb": 200}, headers=bearer(token, **{"If-Match": tag})).status_code == 202
    stale = client.patch(url, json={"quota_mb": 300}, headers=bearer(token, **{"If-Match": tag}))
    assert stale.status_code == 412 and stale.content_type == "application/problem+json"
    assert db.session.get(Mailbox, created["id"]).quota_mb == 200


def test_a_refusal_is_a_problem_at_its_field(client, token):
    refused = _create(client, token, password="short")
    assert refused.status_code == 422
    assert "password" in refused.get_json()["errors"]
    control = _create(client, token, local_part="a\u2028b")
    assert control.status_code == 422 and "local_part" in control.get_json()["errors"]


def test_list_pages_with_a_link(client, token):
    domain = _domain(client, token)
    assert client.get("/api/v1/mailboxes?limit=2", headers=bearer(token)).get_json() == []  # kept, until a change
    for name in ("a1", "a2", "a3"):
        assert (
            client.post(
                "/api/v1/mailboxes",
                json={"local_part": name, "domain_id": domain, "password": MAILBOX_PASSWORD},
                headers=bearer(token),
            ).status_code
            == 202
        )
    first = client.get("/api/v1/mailboxes?limit=2", headers=bearer(token))
    assert [m["local_part"] for m in first.get_json()] == ["a1", "a2"]
    next_url = first.headers["Link"].split(">")[0].lstrip("<")
    second = client.get(next_url, headers=bearer(token))
    assert [m["local_part"] for m in second.get_json()] == ["a3"] and "Link" not in second.headers


def test_options_says_the_methods_and_the_fields_a_client_sets(client, token):
    listing = client.options("/api/v1/mailboxes", headers=bearer(token))
    assert listing.status_code == 200 and listing.headers["Allow"] == "GET, OPTIONS, POST"
    create = listing.get_json()["fields"]["POST"]
    assert create["local_part"]["required"] and create["password"]["write_only"]
    assert "id" not in create and "status" not in create
    mailbox = _create(client, token).get_json()
    item = client.options(f"/api/v1/mailboxes/{mailbox['id']}", headers=bearer(token))
    assert item.get_json()["allow"] == ["GET", "OPTIONS", "PATCH", "DELETE"]
    assert set(item.get_json()["fields"]["PATCH"]) == {"password", "quota_mb"}
    assert client.options("/api/v1/mailboxes").status_code == 401  # no token, no answer


def test_retries_sent_at_once_with_one_key_make_one_mailbox(app, token, row_locks):
    """Five retries of one POST at the same moment: the key's row is inserted before the service runs, so
    the others wait on its unique index, then replay the first answer."""
    data = {"local_part": "dana", "domain_id": domain_id("acme.test"), "password": MAILBOX_PASSWORD}
    clients = [app.test_client() for _ in range(5)]
    assert clients[0].get("/api/v1/mailboxes", headers=bearer(token)).status_code == 200  # its last use noted
    db.session.commit()  # the test's own session holds nothing while the requests run
    start, answers = threading.Barrier(len(clients)), [None] * len(clients)

    def send(i: int) -> None:
        with app.app_context():
            start.wait()
            reply = clients[i].post("/api/v1/mailboxes", json=data, headers=bearer(token, **{"Idempotency-Key": "k1"}))
        answers[i] = (reply.status_code, reply.get_json())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(answers), "a request did not finish"
    assert {status for status, _ in answers} == {202}
    assert len({body["id"] for _, body in answers}) == 1
    db.session.expire_all()
    assert count(Mailbox, Mailbox.local_part == "dana") == 1


def test_a_vacation_reply_is_set_and_a_stale_if_match_is_412(client, token):
    mailbox = _create(client, token).get_json()
    url = f"/api/v1/mailboxes/{mailbox['id']}/vacation"
    read = client.get(url, headers=bearer(token))
    assert read.get_json()["enabled"] is False
    reply = {"enabled": True, "subject": "Away", "message": "Back on Monday.\nThanks."}
    put = client.put(url, json=reply, headers=bearer(token, **{"If-Match": read.headers["ETag"]}))
    assert put.status_code == 202 and put.headers["Location"].endswith(f"/api/v1/mailboxes/{mailbox['id']}")
    assert client.get(url, headers=bearer(token)).get_json()["message"] == "Back on Monday.\nThanks."
    stale = client.put(
        url, json={**reply, "enabled": False}, headers=bearer(token, **{"If-Match": read.headers["ETag"]})
    )
    assert stale.status_code == 412
    assert db.session.get(Mailbox, mailbox["id"]).autoreply_enabled is True
    control = client.put(url, json={**reply, "subject": "Away\u0085"}, headers=bearer(token))
    assert control.status_code == 422 and "subject" in control.get_json()["errors"]
