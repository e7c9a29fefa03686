"""The bind backend against a real named: zones built from the database answer, their serial grows,
a zone the checker refuses leaves the old one serving, DNSSEC validates, a secondary copies the
zones by AXFR with TSIG only."""

from __future__ import annotations

import shutil

import dns.dnssec
import dns.exception
import dns.name
import dns.query
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, DnsRecord, Domain, LogState, Operation, OpState, Server, Status, Website, utcnow
from portal.orchestration.jobs import apply_server
from portal.orchestration.operations import record
from portal.orchestration.proof import token
from portal.orchestration.republish import republish
from portal.services.servers import edit_server
from tests.helpers import add_server
from tests.testbed.managed_bind import ManagedBind
from tests.testbed.plugin import running


@pytest.fixture
def zone_of(app, make_account, named, tmp_path):
    """Account Acme with acme.test, a DNS server (dns1) running the test named, a mail server whose
    maps are only written, and a web server whose addresses the zone publishes (never applied to)."""
    dns1 = add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")
    add_server(
        Server(
            name="mx1",
            host="localhost",
            transport="local",
            settings={
                "postfix_maps_dir": str(tmp_path / "postfix"),
                "postfix_postmap": "",
                "mail_hostname": "mx1.hostdeck.test",
                "public_addresses": ["192.0.2.25"],
            },
        ),
        "postfix",
    )
    db.session.add(
        Server(name="web1", host="localhost", transport="local", settings={"public_addresses": ["192.0.2.80"]})
    )
    account = make_account("Acme", domains=("acme.test",))
    domain = db.session.scalar(sa.select(Domain).where(Domain.name == "acme.test"))
    record(domain, "save")
    db.session.commit()
    for server in db.session.scalars(sa.select(Server)):
        apply_server(server.id)
    db.session.expire_all()
    return dns1, account, domain


def applied(server: Server) -> BackendLog:
    apply_server(server.id)
    db.session.expire_all()
    return db.session.scalars(
        sa.select(BackendLog).where(BackendLog.server_id == server.id).order_by(BackendLog.id.desc())
    ).first()


def test_a_verified_domain_answers_with_the_records_its_services_need(zone_of, named):
    dns1, account, domain = zone_of
    assert named.answer("acme.test", "NS") == ["ns1.hostdeck.test.", "ns2.hostdeck.test."]
    assert named.answer("acme.test", "MX") == ["10 mx1.hostdeck.test."]
    assert named.answer("acme.test", "TXT") == ['"v=spf1 mx ip4:192.0.2.25 -all"']
    assert named.answer("_dmarc.acme.test", "TXT") == ['"v=DMARC1; p=none"']
    assert named.answer("autoconfig.acme.test", "CNAME") == ["mx1.hostdeck.test."]
    assert named.answer("_hostdeck-challenge.acme.test", "TXT") == [f'"{token(account.id, "acme.test")}"']
    soa = named.answer("acme.test", "SOA")[0].split()
    assert soa[:2] == ["ns1.hostdeck.test.", "hostmaster.hostdeck.test."]
    assert soa[2].startswith(utcnow().strftime("%Y%m%d"))  # the date, then a counter
    assert domain.status == Status.APPLIED

    # A website on the domain: its web server's address, for the name and www.
    web1 = db.session.scalar(sa.select(Server).where(Server.name == "web1"))
    add_server(web1, "nginx")
    site = Website(account_id=account.id, name="shop", with_www=True, tls_mode="none", status=Status.APPLIED)
    site.domains.append(domain)
    db.session.add(site)
    republish([domain])
    db.session.commit()
    applied(dns1)
    assert named.answer("acme.test", "A") == ["192.0.2.80"]
    assert named.answer("www.acme.test", "A") == ["192.0.2.80"]

    # The web server moves: editing its addresses re-applies the zones that publish them.
    edit_server(
        None,
        web1,
        host=web1.host,
        port=web1.port,
        ssh_user=web1.ssh_user,
        settings={"public_addresses": ["192.0.2.81", "2001:db8::81"]},
    )
    db.session.commit()
    applied(dns1)
    assert named.answer("acme.test", "A") == ["192.0.2.81"]
    assert named.answer("www.acme.test", "AAAA") == ["2001:db8::81"]


def test_the_serial_grows_only_when_the_zone_changes(zone_of, named):
    dns1, _account, domain = zone_of
    first = named.serial("acme.test")
    republish([domain])
    db.session.commit()
    log = applied(dns1)
    assert named.serial("acme.test") == first  # nothing changed: same serial, no reload
    assert "zone reload" not in (log.stdout or "")

    domain.dmarc_reports = "dmarc@acme.test"
    record(domain, "save")
    db.session.commit()
    applied(dns1)
    assert named.serial("acme.test") == first + 1
    assert named.answer("_dmarc.acme.test", "TXT") == ['"v=DMARC1; p=none; rua=mailto:dmarc@acme.test"']
    db.session.expire_all()
    assert db.session.get(Domain, domain.id).dns_serial == first + 1


def test_a_hundred_record_changes_make_one_script_and_one_reload(zone_of, named):
    dns1, account, domain = zone_of
    before = db.session.scalar(sa.select(sa.func.count()).select_from(BackendLog))
    for i in range(100):
        row = DnsRecord(
            account_id=account.id, domain_id=domain.id, name=f"host{i}", rtype="A", ttl=300, value=f"192.0.2.{i + 1}"
        )
        db.session.add(row)
        db.session.flush()
        record(row, "save")
    db.session.commit()
    log = applied(dns1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BackendLog)) == before + 1
    assert log.stdout.count("zone reload") == 1, log.stdout
    assert named.answer("host0.acme.test") == ["192.0.2.1"]
    assert named.answer("host99.acme.test") == ["192.0.2.100"]
    states = set(db.session.scalars(sa.select(DnsRecord.status)))
    assert states == {Status.APPLIED}


def _direct(account, domain, name: str, rtype: str, value: str) -> DnsRecord:
    """A record as if it had got past the service's checks: the zone's last guards are the builder
    and named-checkzone."""
    row = DnsRecord(account_id=account.id, domain_id=domain.id, name=name, rtype=rtype, ttl=300, value=value)
    db.session.add(row)
    db.session.flush()
    record(row, "save")
    db.session.commit()
    return row


@pytest.mark.parametrize(
    ("name", "rtype", "value", "words"),
    [
        ("@", "NS", "ns9.acme.test.", "has no address records"),  # named-checkzone's own refusal
        ("shop", "CNAME", "elsewhere.example.", "shop.acme.test has a CNAME and other data"),  # the builder's
    ],
)
def test_a_zone_that_cannot_be_checked_is_not_installed_and_the_old_one_keeps_serving(
    zone_of, named, name, rtype, value, words
):
    dns1, account, domain = zone_of
    _direct(account, domain, "shop", "A", "192.0.2.7")
    applied(dns1)
    serial = named.serial("acme.test")
    bad = _direct(account, domain, name, rtype, value)
    applied(dns1)
    db.session.expire_all()
    bad = db.session.get(DnsRecord, bad.id)
    assert bad.status == Status.FAILED
    assert "acme.test" in bad.last_error and words in bad.last_error, bad.last_error
    assert named.serial("acme.test") == serial  # the old zone still serves
    assert named.answer("shop.acme.test") == ["192.0.2.7"]
    op = db.session.scalars(sa.select(Operation).where(Operation.object_id == bad.id)).one()
    assert op.state == OpState.FAILED


def test_dnssec_answers_validate_and_the_ds_record_is_shown(zone_of, named):
    dns1, _account, domain = zone_of
    domain.dnssec = True
    record(domain, "save")
    db.session.commit()
    applied(dns1)
    db.session.expire_all()
    domain = db.session.get(Domain, domain.id)
    assert " DS " in domain.dnssec_ds and domain.dnssec_ds.startswith("acme.test.")
    origin = dns.name.from_text("acme.test")

    def signed() -> bool:
        return any(r.rdtype == dns.rdatatype.RRSIG for r in named.ask("acme.test", "MX", dnssec=True).answer)

    named.wait_for(signed)
    keys = next(r for r in named.ask("acme.test", "DNSKEY", dnssec=True).answer if r.rdtype == dns.rdatatype.DNSKEY)
    reply = named.ask("acme.test", "MX", dnssec=True)
    rrset = next(r for r in reply.answer if r.rdtype == dns.rdatatype.MX)
    rrsig = next(r for r in reply.answer if r.rdtype == dns.rdatatype.RRSIG)
    dns.dnssec.validate(rrset, rrsig, {origin: keys})  # raises if the signature does not hold
    # The DS the page shows is the hash of the key that signs.
    ds = dns.dnssec.make_ds(origin, next(k for k in keys if k.flags & 1), "SHA256")
    assert ds.to_text().split()[-1].upper() in domain.dnssec_ds.upper().replace(" ", "")

    # Turned off again: named unsigns it (policy "insecure"), and the zone goes on answering.
    domain.dnssec = False
    record(domain, "save")
    db.session.commit()
    log = applied(dns1)
    assert log.state in (LogState.SUCCESS, LogState.WARNING), log.stderr
    assert "dnssec-policy insecure" in named.zones_conf.read_text()
    assert named.answer("acme.test", "MX") == ["10 mx1.hostdeck.test."]


def test_a_secondary_copies_the_zones_by_axfr_with_tsig_and_others_are_refused(zone_of, named, tmp_path):
    dns1, _account, domain = zone_of
    with running(ManagedBind(tmp_path / "ns2")) as second:
        dns1.settings = {**dns1.settings, "bind_secondaries": [second.endpoint]}
        dns2 = add_server(
            Server(
                name="dns2",
                host="localhost",
                transport="local",
                settings=second.settings(bind_role="secondary", bind_primaries=[named.endpoint]),
            ),
            "bind",
        )
        republish([domain])
        db.session.commit()
        log = applied(dns1)
        assert named.tsig_file.read_text().startswith('key "hostdeck-xfer"')
        assert "secret" not in (log.script or "") + (log.stdout or "")  # made there, never shown
        # Without the key the secondary's script refuses to go on, in words.
        republish([domain])
        db.session.commit()
        log = applied(dns2)
        assert "copy it from the primary" in log.stderr
        shutil.copy(named.tsig_file, second.tsig_file)  # what the operator does, once
        republish([domain])
        db.session.commit()
        applied(dns2)
        second.wait_for(lambda: second.serial("acme.test") == named.serial("acme.test"))
        assert second.answer("acme.test", "MX") == ["10 mx1.hostdeck.test."]
        # A change on the primary alone reaches the secondary: NOTIFY, then a transfer with the key.
        domain.dmarc_reports = "reports@acme.test"
        record(domain, "save")
        db.session.commit()
        applied(dns1)
        second.wait_for(lambda: second.answer("_dmarc.acme.test", "TXT") == named.answer("_dmarc.acme.test", "TXT"))
        assert "rua=mailto:reports@acme.test" in second.answer("_dmarc.acme.test", "TXT")[0]

        with pytest.raises(dns.exception.DNSException):
            dns.zone.from_xfr(dns.query.xfr(named.host, "acme.test", port=named.port, timeout=5))
        signed = dns.zone.from_xfr(
            dns.query.xfr(named.host, "acme.test", port=named.port, keyring=named.keyring(), timeout=5)
        )
        assert signed.get_rdataset("@", "MX") is not None


def test_a_deleted_domain_leaves_the_dns_server(zone_of, named):
    dns1, _account, domain = zone_of
    domain.status = Status.DELETING
    record(domain, "delete")
    db.session.commit()
    applied(dns1)
    reply = named.ask("acme.test", "SOA")
    assert not reply.answer
    assert not (named.zones_dir / "acme.test.zone").exists()
    assert "acme.test" not in named.zones_conf.read_text()
