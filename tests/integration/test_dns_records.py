"""Custom records through the zone page, against a real named: an added record makes operations for the
bind backend and answers once applied; edits and deletes follow; long TXT answers in 255-byte strings;
what Hostdeck publishes stays its own; DNSSEC shows the DS record; the DMARC address is published; the
page renders in English and Spanish; two adds at once with one slot left give one record."""

from __future__ import annotations

import html
import threading

import dns.rdatatype
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, DnsRecord, Domain, Operation, Server, Status
from portal.orchestration.jobs import apply_server
from portal.orchestration.operations import record
from tests.helpers import Web, add_server, count, page_text


@pytest.fixture
def zone(app, web, make_account, named, tmp_path):
    """Acme's acme.test served by dns1 (the test named), with mail on mx1 (maps only written), logged in."""
    dns1 = add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")
    mx1 = Server(
        name="mx1",
        host="localhost",
        transport="local",
        settings={
            "postfix_maps_dir": str(tmp_path / "postfix"),
            "postfix_postmap": "",
            "mail_hostname": "mx1.hostdeck.test",
            "public_addresses": ["192.0.2.25"],
        },
    )
    add_server(mx1, "postfix")
    make_account("Acme", domains=("acme.test",))
    domain = db.session.scalar(sa.select(Domain).where(Domain.name == "acme.test"))
    record(domain, "save")
    db.session.commit()
    for server in (dns1, mx1):
        apply_server(server.id)
    db.session.expire_all()
    web.login("acme@owner.test")
    return dns1, domain.id


def _url(domain_id: int) -> str:
    return f"/domains/{domain_id}/zone"


def _add(web, domain_id: int, name: str, rtype: str, value: str, ttl: str = "300"):
    return web.submit(_url(domain_id), {"name": name, "rtype": rtype, "ttl": ttl, "value": value})


def _apply(server: Server) -> None:
    apply_server(server.id)
    db.session.expire_all()


def _bind_ops() -> int:
    return count(Operation, Operation.backend == "bind", Operation.object_type == "DnsRecord")


def test_a_record_added_edited_and_deleted_on_the_zone_page(web, zone, named):
    dns1, domain_id = zone
    added = _add(web, domain_id, "www", "A", "192.0.2.7")
    assert added.status_code == 302, page_text(added)
    row = db.session.scalar(sa.select(DnsRecord))
    assert (row.name, row.rtype, row.ttl, row.value, row.status) == ("www", "A", 300, "192.0.2.7", Status.PENDING)
    assert _bind_ops() == 1
    _apply(dns1)
    assert named.answer("www.acme.test", "A") == ["192.0.2.7"]
    assert db.session.get(DnsRecord, row.id).status == Status.APPLIED
    page = html.unescape(page_text(web.get(_url(domain_id))))
    assert "192.0.2.7" in page and f'data-status-id="{row.id}"' in page
    assert web.get(f"/dns/records/status?ids={row.id}").get_json()[str(row.id)]["status"] == "applied"

    edited = web.submit(f"/dns/records/{row.id}", {"name": "www", "rtype": "A", "ttl": "600", "value": "192.0.2.8"})
    assert edited.status_code == 302, page_text(edited)
    _apply(dns1)
    assert named.answer("www.acme.test", "A") == ["192.0.2.8"]

    deleted = web.submit(f"/dns/records/{row.id}/delete", {})
    assert deleted.status_code == 302
    _apply(dns1)
    assert named.answer("www.acme.test", "A") == []
    assert count(DnsRecord) == 0


def test_a_long_txt_answers_in_255_byte_strings(web, zone, named):
    dns1, domain_id = zone
    key = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 14  # about 630 characters
    assert _add(web, domain_id, "other._custom", "TXT", key).status_code == 302
    _apply(dns1)
    reply = named.ask("other._custom.acme.test", "TXT")
    [rdata] = [rd for rrset in reply.answer if rrset.rdtype == dns.rdatatype.TXT for rd in rrset]
    assert [len(s) for s in rdata.strings] == [255, 255, len(key) - 510]
    assert b"".join(rdata.strings).decode() == key
    # The edit form gives the text back as it was typed.
    row = db.session.scalar(sa.select(DnsRecord))
    assert key in html.unescape(web.get(f"/dns/records/{row.id}").get_data(as_text=True))


@pytest.mark.parametrize(
    ("name", "rtype", "value", "words"),
    [
        ("@", "MX", "10 mx.elsewhere.example", "Hostdeck publishes the MX record at acme.test itself"),
        ("autoconfig", "CNAME", "elsewhere.example", "Hostdeck publishes a CNAME record at autoconfig.acme.test"),
        ("autoconfig", "TXT", "hello", "a CNAME cannot stand beside"),
        ("_dmarc", "TXT", "v=DMARC1; p=reject", "Hostdeck publishes the TXT record at _dmarc.acme.test itself"),
        ("@", "TXT", "v=spf1 include:elsewhere.example -all", "Hostdeck publishes the TXT record at acme.test"),
        ("@", "CNAME", "elsewhere.example", "cannot be a CNAME"),
        ("_hostdeck-challenge", "TXT", "forged", "Hostdeck publishes _hostdeck-challenge itself"),
        ("_imaps._tcp", "SRV", "0 1 993 mx1.hostdeck.test", "Hostdeck publishes this record at _imaps._tcp.acme.test"),
    ],
)
def test_what_hostdeck_publishes_stays_its_own(web, zone, named, name, rtype, value, words):
    _dns1, domain_id = zone
    operations = count(Operation)
    response = _add(web, domain_id, name, rtype, value)
    assert response.status_code == 200
    assert words in html.unescape(page_text(response))
    assert (count(DnsRecord), count(Operation)) == (0, operations)


def test_a_txt_beside_the_published_spf_is_fine(web, zone, named):
    dns1, domain_id = zone
    assert _add(web, domain_id, "@", "TXT", "google-site-verification=abc123").status_code == 302
    _apply(dns1)
    assert '"google-site-verification=abc123"' in named.answer("acme.test", "TXT")


def test_the_page_shows_published_records_nameservers_and_dnssec(web, zone, named):
    dns1, domain_id = zone
    page = html.unescape(page_text(web.get(_url(domain_id))))
    assert 'id="published-records"' in page
    assert "ns1.hostdeck.test." in page and "ns2.hostdeck.test." in page  # to set at the registrar
    assert "Mail for this domain goes to its mail server." in page  # why each record is there
    assert "10 mx1.hostdeck.test." in page
    assert "Turn DNSSEC on" in page
    # The domain page leads here.
    assert f'href="{_url(domain_id)}"' in web.get(f"/domains/{domain_id}").get_data(as_text=True)

    turned = web.submit(_url(domain_id), {"dnssec": "on"}, post_url=f"{_url(domain_id)}/dnssec")
    assert turned.status_code == 302
    assert db.session.get(Domain, domain_id).dnssec
    assert 'id="ds-waiting"' in web.get(_url(domain_id)).get_data(as_text=True)
    _apply(dns1)
    domain = db.session.get(Domain, domain_id)
    named.wait_for(lambda: named.answer("acme.test", "DNSKEY"))
    if not domain.dnssec_ds:  # the backend reads the DS once named has made the key: apply again
        _apply(dns1)
    page = web.get(_url(domain_id)).get_data(as_text=True)
    assert db.session.get(Domain, domain_id).dnssec_ds
    assert 'id="ds-records"' in page and "acme.test" in page


def test_the_dmarc_reports_address_is_published(web, zone, named):
    dns1, domain_id = zone
    saved = web.submit(_url(domain_id), {"address": "Reports@Acme.test"}, post_url=f"{_url(domain_id)}/dmarc")
    assert saved.status_code == 302
    assert db.session.get(Domain, domain_id).dmarc_reports == "reports@acme.test"
    _apply(dns1)
    assert named.answer("_dmarc.acme.test", "TXT") == ['"v=DMARC1; p=none; rua=mailto:reports@acme.test"']


def test_the_page_in_english_and_spanish(web, zone):
    _dns1, domain_id = zone
    english = web.get(_url(domain_id), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en"' in english and "Zone of acme.test" in english
    spanish = web.get(_url(domain_id), headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es"' in spanish and "Zona de acme.test" in spanish and "Zone of" not in spanish


def test_two_adds_at_once_with_one_slot_left_give_one_record(app, zone, row_locks):
    _dns1, domain_id = zone
    acme = db.session.scalar(sa.select(Account).where(Account.name == "Acme"))
    acme.max_records_per_zone = 1
    db.session.commit()
    tabs = 2
    web = Web(app.test_client())
    web.login("acme@owner.test")
    token, cookie = web.token(_url(domain_id)), web.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    clients = [app.test_client() for _ in range(tabs)]
    for client in clients:
        client.set_cookie(cookie.key, cookie.value)
    db.session.commit()
    start, answers = threading.Barrier(tabs), [None] * tabs

    def send(i: int) -> None:
        with app.app_context():
            start.wait()
            data = {"name": f"r{i}", "rtype": "A", "ttl": "300", "value": f"192.0.2.{i + 1}", "csrf_token": token}
            response = clients[i].post(_url(domain_id), data=data)
        answers[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(answer is not None for answer in answers)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 302], statuses
    refused = next(body for status, body in answers if status == 200)
    assert "The plan allows 1 custom record per zone, and acme.test has 1." in html.unescape(refused)
    db.session.expire_all()
    assert count(DnsRecord) == 1
