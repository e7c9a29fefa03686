"""Domains, their DNS records and websites' certificates through the API: a new domain shows the TXT
record that proves it, "Check now" is throttled with 429 and Retry-After, records go to the test named,
refusals are problems at their field, and another account's objects are the same 404 as missing ones."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Certificate, CertState, DnsRecord, Domain, Server, Status, Website
from portal.orchestration import proof
from tests.helpers import add_server, api_token, bearer, count, domain_id, domain_named

pytestmark = pytest.mark.usefixtures("mail_server")


@pytest.fixture
def dns1(app, named):
    return add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")


@pytest.fixture
def token(make_account):
    make_account("Acme", domains=("acme.test",))
    return api_token()


@pytest.fixture
def other(make_account):
    """Another customer, with its own domain and token."""
    make_account("Other", domains=("other.test",))
    return api_token("other@owner.test")


def _add(client, token, name: str):
    return client.post("/api/v1/domains", json={"name": name}, headers=bearer(token))


# Domains


def test_a_new_domain_shows_the_txt_record_that_proves_it_and_goes_when_deleted(client, token):
    created = _add(client, token, "brightmail.org")
    assert created.status_code == 202, created.data
    body = created.get_json()
    domain = domain_named("brightmail.org")
    assert body["id"] == domain.id and body["verified"] is False and body["verified_at"] is None
    assert body["proof_code"] == "waiting" and body["proof_words"] == "Waiting for the TXT record."
    assert body["proof_record"] == {
        "name": "_hostdeck-challenge.brightmail.org",
        "type": "TXT",
        "value": proof.token(domain.account_id, "brightmail.org"),
    }
    assert body["dnssec"] is False and body["ds_records"] == []
    polled = client.get(created.headers["Location"], headers=bearer(token))
    assert polled.status_code == 200 and polled.get_json()["name"] == "brightmail.org"
    listed = client.get("/api/v1/domains", headers=bearer(token)).get_json()
    assert [d["name"] for d in listed] == ["acme.test", "brightmail.org"]
    url = f"/api/v1/domains/{body['id']}"
    deleted = client.delete(url, headers=bearer(token))
    assert deleted.status_code == 202, deleted.data
    assert client.get(url, headers=bearer(token)).status_code == 404
    assert count(Domain, Domain.name == "brightmail.org") == 0


def test_a_name_under_a_reserved_tld_is_verified_at_once_and_shows_its_ds_records(client, token, dns1):
    created = _add(client, token, "shop.acme.test")
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert body["verified"] is True and body["status"] == "pending" and body["proof_code"] == "reserved"
    assert "names under .test are for trying Hostdeck out" in body["proof_words"]
    domain = db.session.get(Domain, body["id"])
    domain.dnssec, domain.dnssec_ds = True, "shop.acme.test. IN DS 12345 13 2 ABCDEF\n"
    db.session.commit()
    shown = client.get(f"/api/v1/domains/{domain.id}", headers=bearer(token)).get_json()
    assert shown["dnssec"] is True and shown["ds_records"] == ["shop.acme.test. IN DS 12345 13 2 ABCDEF"]
    deleted = client.delete(f"/api/v1/domains/{domain.id}", headers=bearer(token))
    assert deleted.status_code == 202 and deleted.get_json()["status"] == "deleting"


def test_a_refused_name_is_a_problem_at_its_field(client, token):
    taken = _add(client, token, "acme.test")
    assert taken.status_code == 422 and taken.content_type == "application/problem+json"
    assert taken.get_json()["errors"] == {"name": ["You already have acme.test."]}
    invalid = _add(client, token, "not a domain")
    assert invalid.status_code == 422 and "name" in invalid.get_json()["errors"]
    assert count(Domain) == 1


def test_check_now_hands_the_check_over_then_answers_429_with_retry_after(app, client, token, queued):
    app.config["PROOF_CHECK_INTERVAL"] = 30
    waiting = _add(client, token, "brightmail.org").get_json()
    url = f"/api/v1/domains/{waiting['id']}/check"
    first = client.post(url, headers=bearer(token))
    assert first.status_code == 202, first.data
    assert first.headers["Location"].endswith(f"/api/v1/domains/{waiting['id']}")
    assert first.get_json()["verified"] is False and queued() == 1
    again = client.post(url, headers=bearer(token))
    assert again.status_code == 429 and again.content_type == "application/problem+json"
    assert int(again.headers["Retry-After"]) > 0
    assert "brightmail.org was checked a moment ago" in again.get_json()["detail"]
    assert queued() == 1, "no second check was queued"
    verified = client.post(f"/api/v1/domains/{domain_id('acme.test')}/check", headers=bearer(token))
    assert verified.status_code == 422 and verified.get_json()["detail"] == "acme.test is verified already."


def test_check_now_needs_the_write_scope(client, make_account):
    make_account("Acme", domains=("acme.test",))
    reader = api_token(scopes=["domains:read"])
    refused = client.post(f"/api/v1/domains/{domain_id('acme.test')}/check", headers=bearer(reader))
    assert refused.status_code == 403


def test_another_accounts_domain_is_404(client, token, other):
    theirs = domain_id("other.test")
    for method in ("get", "delete"):
        answer = getattr(client, method)(f"/api/v1/domains/{theirs}", headers=bearer(token))
        assert answer.status_code == 404 and answer.content_type == "application/problem+json", method
    assert client.post(f"/api/v1/domains/{theirs}/check", headers=bearer(token)).status_code == 404
    assert [d["name"] for d in client.get("/api/v1/domains", headers=bearer(other)).get_json()] == ["other.test"]
    assert domain_named("other.test") is not None


# DNS records


def _record(client, token, **body):
    data = {"domain_id": domain_id("acme.test"), "name": "www", "rtype": "A", "ttl": 300, "value": "192.0.2.10"}
    return client.post("/api/v1/dns_records", json={**data, **body}, headers=bearer(token))


def test_a_dns_record_is_added_changed_and_deleted(client, token, dns1, work):
    created = _record(client, token)
    assert created.status_code == 202, created.data
    body = created.get_json()
    assert (body["name"], body["rtype"], body["ttl"], body["value"], body["status"]) == (
        "www",
        "A",
        300,
        "192.0.2.10",
        "pending",
    )
    txt = _record(client, token, name="@", rtype="TXT", value="hello world")
    assert txt.status_code == 202 and txt.get_json()["value"] == "hello world"  # as typed, unquoted
    url = created.headers["Location"]
    assert client.get(url, headers=bearer(token)).status_code == 200
    listed = client.get(f"/api/v1/dns_records?domain_id={domain_id('acme.test')}", headers=bearer(token))
    assert listed.status_code == 200, listed.data
    assert [r["rtype"] for r in listed.get_json()] == ["A", "TXT"]
    changed = client.patch(url, json={"ttl": 600}, headers=bearer(token))
    assert changed.status_code == 202, changed.data
    row = db.session.get(DnsRecord, body["id"])
    assert (row.ttl, row.value, row.name) == (600, "192.0.2.10", "www")
    deleted = client.delete(url, headers=bearer(token))
    assert deleted.status_code == 202 and deleted.get_json()["status"] == "deleting"
    work()
    assert client.get(url, headers=bearer(token)).status_code == 404


def test_a_refused_dns_record_is_a_problem_at_its_field(client, token, dns1):
    refused = _record(client, token, value="not-an-address")
    assert refused.status_code == 422 and "value" in refused.get_json()["errors"]
    unknown = _record(client, token, rtype="PTR")
    assert unknown.status_code == 422 and "rtype" in unknown.get_json()["errors"]
    assert count(DnsRecord) == 0


def test_another_accounts_dns_record_is_404(client, token, other, dns1):
    theirs = _record(client, other, domain_id=domain_id("other.test"))
    assert theirs.status_code == 202, theirs.data
    url = f"/api/v1/dns_records/{theirs.get_json()['id']}"
    assert client.get(url, headers=bearer(token)).status_code == 404
    assert client.patch(url, json={"ttl": 600}, headers=bearer(token)).status_code == 404
    assert client.delete(url, headers=bearer(token)).status_code == 404
    assert client.get("/api/v1/dns_records", headers=bearer(token)).get_json() == []
    into_theirs = _record(client, token, domain_id=domain_id("other.test"))
    assert into_theirs.status_code == 404
    assert db.session.get(DnsRecord, theirs.get_json()["id"]).status == Status.PENDING


# Certificates


def _certificate(account_name: str, account_id: int) -> Certificate:
    website = Website(account_id=account_id, name=f"{account_name}-site")
    cert = Certificate(
        account_id=account_id,
        website=website,
        state=CertState.WAITING,
        names=[f"{account_name}.test"],
        reason_code="not_here",
        reason_args={"name": f"{account_name}.test", "found": ["192.0.2.99"]},
        detail="urn:ietf:params:acme:error:dns raw words of the CA",
    )
    db.session.add(cert)
    db.session.commit()
    return cert


def test_a_certificate_reads_why_it_waits_in_plain_words_never_the_cas_detail(client, token, other):
    ours = _certificate("acme", domain_named("acme.test").account_id)
    theirs = _certificate("other", domain_named("other.test").account_id)
    shown = client.get(f"/api/v1/certificates/{ours.id}", headers=bearer(token))
    assert shown.status_code == 200, shown.data
    body = shown.get_json()
    assert body["state"] == "waiting" and body["website_id"] == ours.website_id and body["names"] == ["acme.test"]
    assert body["reason"] == (
        "acme.test points at 192.0.2.99, not at this server. Hostdeck orders the certificate once it points here."
    )
    assert "detail" not in body and "raw words" not in shown.get_data(as_text=True)
    listed = client.get(f"/api/v1/certificates?website_id={ours.website_id}", headers=bearer(token)).get_json()
    assert [c["id"] for c in listed] == [ours.id]
    assert client.get(f"/api/v1/certificates/{theirs.id}", headers=bearer(token)).status_code == 404
    assert client.delete(f"/api/v1/certificates/{ours.id}", headers=bearer(token)).status_code == 405
