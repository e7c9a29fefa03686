"""A wildcard certificate over dns-01: the answer goes into the zone Hostdeck serves (the managed BIND),
is applied before Pebble looks, and leaves the zone afterwards."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509

from portal.extensions import db
from portal.models import Certificate, CertState, Domain, Server, WebApp, Website
from portal.orchestration import certificates
from portal.orchestration.jobs import apply_server
from portal.orchestration.operations import record
from tests.helpers import add_server, new_system_user, new_web_app, new_website, page_text
from tests.testbed.pebble import PEBBLE, Pebble
from tests.testbed.plugin import need, running, shared_root

ZONE = "wild.test"


@pytest.fixture
def zone_pebble(request, nginx, named):
    """A Pebble that resolves names (and dns-01 answers) in the zones Hostdeck serves."""
    need(Path(PEBBLE).exists(), "pebble (/usr/bin/pebble)")
    with shared_root(request, "pebble-zones") as root, running(Pebble(root, nginx.port, named.endpoint)) as server:
        yield server


@pytest.fixture
def wild_site(app, web, make_account, webstack, nginx, named, zone_pebble, work):
    app.config.update(
        ACME_DIRECTORY=zone_pebble.directory, ACME_CA_BUNDLE=str(zone_pebble.ca_path), DNS_RESOLVERS=named.endpoint
    )
    webstack.settings = {
        **webstack.settings,
        "public_addresses": ["127.0.0.1"],
        "nginx_acme_dir": str(nginx.root / "acme-challenge"),
    }
    dns1 = add_server(Server(name="dns1", host="localhost", transport="local", settings=named.settings()), "bind")
    make_account("Wild", domains=(ZONE,))
    web.login("wild@owner.test")
    user = new_system_user(web, work)
    new_web_app(web, user, "site", kind="static")
    assert new_website(web, "Wild", ZONE, db.session.scalar(sa.select(WebApp))).status_code == 302
    work()
    domain = db.session.scalar(sa.select(Domain).where(Domain.name == ZONE))
    record(domain, "save")  # the zone, with the website's A records
    db.session.commit()
    apply_server(dns1.id)
    named.wait_for(lambda: named.answer(f"www.{ZONE}") == ["127.0.0.1"])
    return db.session.scalar(sa.select(Website)), dns1


def test_a_wildcard_certificate_is_proved_over_dns01_in_our_zone(web, wild_site, webstack, named, work):
    site, dns1 = wild_site
    # The customer asks for every subdomain too: the site answers on them, the zone points them here.
    site.wildcard = True
    record(site, "save")
    db.session.commit()
    work()
    apply_server(dns1.id)
    named.wait_for(lambda: named.answer(f"anything.{ZONE}") == ["127.0.0.1"])
    cert = db.session.scalar(sa.select(Certificate))
    names = [ZONE, f"*.{ZONE}", f"www.{ZONE}"]
    assert certificates.issue(cert) == "issued", (cert.reason_code, cert.detail)
    db.session.expire_all()
    cert = db.session.scalar(sa.select(Certificate))
    assert cert.state == CertState.ISSUED and cert.dns_challenges == {}
    leaf = x509.load_pem_x509_certificate(cert.chain.encode())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(names)
    work()  # the chain goes live on web1; the answer leaves the zone
    apply_server(dns1.id)
    assert named.answer(f"_acme-challenge.{ZONE}", "TXT") == []
    body = page_text(web.get(f"/websites/{site.id}"))
    assert "Serving" in body and f"*.{ZONE}" in body


def test_a_wildcard_without_our_dns_waits_with_its_reason(app, web, wild_site, zone_pebble, work):
    site, dns1 = wild_site
    db.session.delete(db.session.scalar(sa.select(Server).where(Server.id == dns1.id)).routes[0])
    db.session.commit()
    cert, before = db.session.scalar(sa.select(Certificate)), zone_pebble.orders()
    certificates.issue(cert, names=[ZONE, f"*.{ZONE}"])
    db.session.expire_all()
    cert = db.session.scalar(sa.select(Certificate))
    assert cert.reason_code == "no_dns" and cert.state == CertState.WAITING and cert.attempts == 0
    assert zone_pebble.orders() == before  # the CA never heard of it
    assert "DNS at Hostdeck" in page_text(web.get(f"/websites/{site.id}"))
