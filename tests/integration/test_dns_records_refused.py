"""Custom DNS records the zone cannot take are refused in plain words at their field, through the zone
page's form, before anything is recorded: no Operation row, no record row, so no script ever sees them.
Hostile values (quotes, newlines, $INCLUDE, $ORIGIN, overlong labels, a CNAME at the apex) among them."""

from __future__ import annotations

import html

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Domain, Operation, Status
from portal.models.dns import DnsRecord
from portal.services.dns import records_in
from tests.helpers import account_named, count, domain_id, page_text


@pytest.fixture
def app_config():
    return {}  # nothing here reaches a server


@pytest.fixture
def acme(web, make_account):
    """Customer Acme with acme.test (a reserved name: proven here), logged in; Rival with rival.test."""
    make_account("Acme", domains=("acme.test",))
    make_account("Rival", domains=("rival.test",))
    web.login("acme@owner.test")
    return domain_id("acme.test")


def _zone(domain: int) -> str:
    return f"/domains/{domain}/zone"


def _add(web, domain: int, name: str, rtype: str, value: str, ttl: str = "3600"):
    return web.submit(_zone(domain), {"name": name, "rtype": rtype, "ttl": ttl, "value": value})


def _existing(domain: int, name: str, rtype: str, value: str) -> DnsRecord:
    """A record already in the zone (as if added and applied before)."""
    zone = db.session.get(Domain, domain)
    row = DnsRecord(account_id=zone.account_id, domain=zone, name=name, rtype=rtype, value=value, status=Status.APPLIED)
    db.session.add(row)
    db.session.commit()
    return row


HOSTILE = [
    # (name, type, value, words shown)
    ("www", "TXT", 'x" IN A 192.0.2.66', "Leave out quotes and backslashes"),
    ("www", "TXT", "x\\034", "Leave out quotes and backslashes"),
    ("www", "TXT", "one\nevil 60 IN A 192.0.2.66", "Line breaks and control characters are not allowed"),
    ("www", "A", "192.0.2.1\r\nevil A 192.0.2.66", "Line breaks and control characters are not allowed"),
    ("www", "TXT", "$INCLUDE /etc/shadow", "cannot start with $"),
    ("www", "TXT", "$ORIGIN evil.example.", "cannot start with $"),
    ("www", "TXT", "$GENERATE 1-9 x$ A 192.0.2.66", "cannot start with $"),
    ("$ORIGIN", "A", "192.0.2.1", "cannot start with $"),
    ("$INCLUDE", "A", "192.0.2.1", "cannot start with $"),
    ("evil\nwww", "A", "192.0.2.1", "Line breaks and control characters are not allowed"),
    ("x" * 64, "A", "192.0.2.1", "at most 63 characters"),
    ("www", "CNAME", "x" * 64 + ".example.net", "at most 63 characters"),
    (".".join(["a" * 60] * 5), "A", "192.0.2.1", "at most 253 characters"),
    ("www.rival.test.", "A", "192.0.2.1", "is not in acme.test"),
    ("www", "A", "192.0.2.1 ; comment", "is not an IPv4 address"),
    ("www", "MX", "10 mx;evil", "use letters, digits"),
    ("a.*", "A", "192.0.2.1", "A * stands only as the first part"),
    ("@", "CNAME", "elsewhere.example.net", "cannot be a CNAME"),
    ("", "CNAME", "elsewhere.example.net", "cannot be a CNAME"),
    ("acme.test.", "CNAME", "elsewhere.example.net", "cannot be a CNAME"),
    ("@", "NS", "ns1.example.net", "name servers of acme.test are Hostdeck"),
    ("_hostdeck-challenge", "TXT", "hostdeck-proof-forged", "Hostdeck publishes _hostdeck-challenge itself"),
    ("_acme-challenge", "TXT", "forged", "Hostdeck publishes _acme-challenge itself"),
    ("_acme-challenge.www", "TXT", "forged", "Hostdeck publishes _acme-challenge.www itself"),
    ("mail._domainkey", "TXT", "v=DKIM1; p=forged", "Hostdeck publishes mail._domainkey itself"),
    ("www", "SOA", "x", "Not a valid choice"),
]


@pytest.mark.parametrize(("name", "rtype", "value", "words"), HOSTILE)
def test_hostile_and_impossible_records_are_refused_before_any_script(web, acme, name, rtype, value, words):
    audited = count(AuditEvent)
    response = _add(web, acme, name, rtype, value)
    assert response.status_code == 200  # the form again, with the refusal at its field
    assert words in html.unescape(page_text(response))
    assert count(DnsRecord) == 0
    assert count(Operation) == 0
    assert count(AuditEvent) == audited


@pytest.mark.parametrize("ttl", ["59", "86401", "0", "99999999999", "x"])
def test_ttl_out_of_bounds_is_refused(web, acme, ttl):
    response = _add(web, acme, "www", "A", "192.0.2.1", ttl=ttl)
    assert response.status_code == 200
    text = html.unescape(page_text(response))
    assert "The TTL is 60 to 86400 seconds" in text or "Type a whole number" in text or "no larger than" in text
    assert (count(DnsRecord), count(Operation)) == (0, 0)


@pytest.mark.parametrize(
    ("there", "new", "words"),
    [
        (("www", "A", "192.0.2.1"), ("www", "CNAME", "host.example.net"), "a CNAME cannot stand beside"),
        (("www", "TXT", '"hello"'), ("www", "CNAME", "host.example.net"), "a CNAME cannot stand beside"),
        (("www", "CNAME", "host.example.net."), ("www", "A", "192.0.2.1"), "a CNAME cannot stand beside"),
        (("www", "CNAME", "host.example.net."), ("www", "CNAME", "other.example.net"), "a CNAME cannot stand"),
        (("www", "A", "192.0.2.1"), ("www", "A", "192.0.2.1"), "has this record already"),
        (("www", "A", "192.0.2.1"), ("www.acme.test.", "A", "192.0.2.1"), "has this record already"),
        (("@", "TXT", '"google-site-verification=1"'), ("@", "TXT", "google-site-verification=1"), "already"),
        (("dev", "NS", "ns1.example.net."), ("dev", "A", "192.0.2.1"), "stand alone at their name"),
        (("dev", "A", "192.0.2.1"), ("dev", "NS", "ns1.example.net"), "stand alone at their name"),
        (("dev", "NS", "ns1.example.net."), ("www.dev", "A", "192.0.2.1"), "records below it are theirs"),
        (("www.dev", "A", "192.0.2.1"), ("dev", "NS", "ns1.example.net"), "records below it are theirs"),
    ],
)
def test_records_that_clash_with_the_zone_are_refused(web, acme, there, new, words):
    _existing(acme, *there)
    response = _add(web, acme, *new)
    assert response.status_code == 200
    assert words in html.unescape(page_text(response))
    assert count(DnsRecord) == 1
    assert count(Operation) == 0


def test_an_edit_into_a_clash_is_refused(web, acme):
    _existing(acme, "www", "A", "192.0.2.1")
    other = _existing(acme, "shop", "CNAME", "shops.example.net.")
    response = web.submit(
        f"/dns/records/{other.id}", {"name": "www", "rtype": "CNAME", "ttl": "3600", "value": "shops.example.net"}
    )
    assert response.status_code == 200
    assert "a CNAME cannot stand beside" in html.unescape(page_text(response))
    assert db.session.get(DnsRecord, other.id).name == "shop"
    assert count(Operation) == 0


def test_the_limit_per_zone_is_held(web, acme):
    account = account_named("Acme")
    account.max_records_per_zone = 2
    db.session.commit()
    _existing(acme, "a", "A", "192.0.2.1")
    _existing(acme, "b", "A", "192.0.2.2")
    response = _add(web, acme, "c", "A", "192.0.2.3")
    assert "The plan allows 2 custom records per zone, and acme.test has 2." in html.unescape(page_text(response))
    assert (count(DnsRecord), count(Operation)) == (2, 0)


def test_records_being_deleted_do_not_count_toward_the_limit(web, acme):
    account = account_named("Acme")
    account.max_records_per_zone = 1
    going = _existing(acme, "a", "A", "192.0.2.1")
    going.status = Status.DELETING
    db.session.commit()
    assert records_in(db.session.get(Domain, acme)) == 0


def test_a_reseller_limit_holds_for_its_sub_accounts(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    reseller.max_records_per_zone = 1
    make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    web.login("owner@bakery.example.net")
    zone = domain_id("bakery.test")
    _existing(zone, "a", "A", "192.0.2.1")
    response = _add(web, zone, "b", "A", "192.0.2.2")
    assert "The plan allows 1 custom record per zone" in html.unescape(page_text(response))
    assert count(Operation) == 0


def test_another_accounts_zone_and_records_answer_404(web, acme):
    rival = domain_id("rival.test")
    theirs = _existing(rival, "www", "A", "192.0.2.9")
    missing = 987654321
    for url in (_zone(rival), f"/dns/records/{theirs.id}", f"/dns/records/{theirs.id}/delete"):
        assert web.get(url).status_code == 404, url
    token = web.token(_zone(acme))
    for url in (
        _zone(rival),
        f"{_zone(rival)}/dnssec",
        f"{_zone(rival)}/dmarc",
        f"/dns/records/{theirs.id}",
        f"/dns/records/{theirs.id}/delete",
    ):
        got = web.client.post(url, data={"csrf_token": token, "name": "x", "rtype": "A", "value": "192.0.2.1"})
        assert got.status_code == 404, url
    assert web.get(f"/dns/records/{missing}").status_code == 404
    status = web.get(f"/dns/records/status?ids={theirs.id}").get_json()
    assert status == {str(theirs.id): {"status": "gone", "error": ""}}
    assert count(Operation) == 0


def test_an_unproven_domain_has_no_zone_yet(web, acme):
    db.session.add(Domain(account=account_named("Acme"), name="waiting-acme.org"))
    db.session.commit()
    waiting = domain_id("waiting-acme.org")
    page = html.unescape(page_text(web.get(_zone(waiting))))
    assert "waiting-acme.org" in page and 'id="zone-waiting"' in page
    assert 'id="add-record"' not in page
    response = _add(web, waiting, "www", "A", "192.0.2.1")
    assert "waiting-acme.org is not verified yet" in html.unescape(page_text(response))
    assert (count(DnsRecord), count(Operation)) == (0, 0)


def test_the_dmarc_address_is_checked(web, acme):
    response = web.submit(_zone(acme), {"address": "not an address"}, post_url=f"{_zone(acme)}/dmarc")
    assert response.status_code == 400
    assert "an address needs a name before the @" in html.unescape(page_text(response))
    assert db.session.get(Domain, acme).dmarc_reports == ""
    assert count(Operation) == 0
