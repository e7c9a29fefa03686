"""Automatic certificates against Pebble: http-01 through the test nginx, what stops an order before the
CA hears of it (names elsewhere, rate limits), renewals, and failures that back off and stop."""

import socket
import ssl
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AcmeOrder, Certificate, CertState, WebApp, Website, utcnow
from portal.orchestration import certificates
from tests.helpers import count, new_system_user, new_web_app, new_website, page_text, upload, wait_http

NAME = "shop.certs.test"


@pytest.fixture
def app_config(app_config, pebble, acme_dns):
    return {
        **app_config,
        "ACME_DIRECTORY": pebble.directory,
        "ACME_CA_BUNDLE": str(pebble.ca_path),
        "ACME_EMAIL": "certs@hostdeck.test",
        "DNS_RESOLVERS": acme_dns.resolver,
        "DNS_TIMEOUT": 2.0,
    }


@pytest.fixture
def site(web, make_account, webstack, nginx, acme_dns, sftpd, work):
    """Customer Shop with a static website on shop.certs.test (and www.), both pointing at the web server."""
    webstack.settings = {
        **webstack.settings,
        "public_addresses": ["127.0.0.1"],
        "nginx_acme_dir": str(nginx.root / "acme-challenge"),
    }
    db.session.commit()
    for name in (NAME, f"www.{NAME}"):
        acme_dns.set_a(name, "127.0.0.1")
    make_account("Shop", domains=(NAME,))
    web.login("shop@owner.test")
    user = new_system_user(web, work)
    new_web_app(web, user, "site", kind="static")
    response = new_website(web, "Shop", NAME, db.session.scalar(sa.select(WebApp)))
    assert response.status_code == 302, page_text(response)
    work()
    upload(sftpd, user, "/webapps/site/index.html", "fresh paint")
    wait_http(nginx, NAME, "/", 200, "fresh paint")
    yield db.session.scalar(sa.select(Website))
    for name in (NAME, f"www.{NAME}"):
        acme_dns.set_a(name)


def certificate_of(website) -> Certificate:
    db.session.expire_all()
    return db.session.scalars(sa.select(Certificate).where(Certificate.website_id == website.id)).one()


def order(work) -> None:
    """What the worker's sweeper does when the certificate is due, then the worker."""
    certificates.sweep_due()
    work()


def served_chain(webstack, name: str) -> str:
    _, _, port = webstack.settings["nginx_listen_https"].rpartition(":")
    shown = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", name, "-showcerts"],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )
    return shown.stdout


def https_get(webstack, name: str, root_pem: str) -> str:
    address, _, port = webstack.settings["nginx_listen_https"].rpartition(":")
    context = ssl.create_default_context(cadata=root_pem)
    with (
        socket.create_connection((address, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.0\r\nHost: {name}\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return data.decode()


def test_a_website_gets_an_automatic_certificate_over_http01(web, site, webstack, pebble, work):
    cert = certificate_of(site)
    assert cert.state == CertState.WAITING
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.ISSUED, (cert.reason_code, cert.detail)
    assert cert.names == [NAME, f"www.{NAME}"]
    assert "Pebble" in cert.issuer
    assert cert.renew_at < cert.not_after
    shown = served_chain(webstack, f"www.{NAME}")
    assert "Pebble Intermediate CA" in shown, shown
    # The chain verifies against Pebble's issuing root, and the site answers over it.
    assert https_get(webstack, f"www.{NAME}", pebble.issuing_root()).endswith("fresh paint")
    assert pebble.orders() == 1
    assert count(AcmeOrder) == 1
    body = page_text(web.get(f"/websites/{site.id}"))
    assert "Serving" in body and "Pebble" in body


def test_a_name_pointing_elsewhere_waits_with_its_reason_and_no_order(web, site, acme_dns, pebble, work):
    acme_dns.set_a(f"www.{NAME}", "192.0.2.7")
    before = pebble.orders()
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.WAITING
    assert cert.reason_code == "not_here"
    assert cert.reason_args == {"name": f"www.{NAME}", "found": ["192.0.2.7"]}
    assert pebble.orders() == before and count(AcmeOrder) == 0
    assert cert.next_attempt_at > utcnow()  # looked at again later, not at every sweep
    english = page_text(web.get(f"/websites/{site.id}", headers={"Accept-Language": "en"}))
    assert f"www.{NAME} points at 192.0.2.7, not at this server." in english
    spanish = page_text(web.get(f"/websites/{site.id}", headers={"Accept-Language": "es"}))
    assert f"www.{NAME} apunta a 192.0.2.7, no a este servidor." in spanish
    acme_dns.set_a(f"www.{NAME}")  # no address at all
    cert.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    order(work)
    assert certificate_of(site).reason_args == {"name": f"www.{NAME}", "found": []}
    assert "does not point at this server yet" in page_text(web.get(f"/websites/{site.id}"))
    # Once it points here, the next look orders.
    acme_dns.set_a(f"www.{NAME}", "127.0.0.1")
    cert = certificate_of(site)
    cert.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    order(work)
    assert certificate_of(site).state == CertState.ISSUED


@pytest.mark.parametrize("limit", ["orders", "failures"])
def test_past_a_rate_limit_the_work_waits_and_the_ca_hears_nothing(app, web, site, pebble, work, limit):
    app.config.update(ACME_ORDERS_PER_DOMAIN_WEEK=2, ACME_FAILURES_PER_NAME_HOUR=2)
    old = utcnow() - timedelta(days=2)
    for _ in range(2):
        failed = NAME if limit == "failures" else ""
        db.session.add(AcmeOrder(registered_domain="certs.test", failed_name=failed, created_at=old))
    if limit == "failures":  # failures count for an hour only
        db.session.add_all(
            AcmeOrder(registered_domain="certs.test", failed_name=f"www.{NAME}", created_at=utcnow()) for _ in range(2)
        )
    db.session.commit()
    before = pebble.orders()
    order(work)
    cert = certificate_of(site)
    assert pebble.orders() == before
    assert cert.state == CertState.WAITING
    if limit == "orders":
        assert cert.reason_code == "rate_orders" and cert.reason_args == {"domain": "certs.test"}
        assert abs(cert.next_attempt_at - (old + timedelta(days=7))) < timedelta(seconds=1)
        assert "weekly limit for certs.test" in page_text(web.get(f"/websites/{site.id}"))
    else:
        assert cert.reason_code == "rate_failures" and cert.reason_args == {"name": f"www.{NAME}"}
        assert timedelta(minutes=59) < cert.next_attempt_at - utcnow() <= timedelta(hours=1)
        assert f"Too many failed checks of www.{NAME}" in page_text(web.get(f"/websites/{site.id}"))


def test_failures_back_off_then_stop_and_tell_staff(app, web, site, webstack, nginx, pebble, smtp, work, make_staff):
    app.config.update(ACME_MAX_ATTEMPTS=2, ACME_RETRY_DELAYS="60,600", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)
    make_staff()
    # The answers go where nginx does not serve them from: the CA finds nothing there.
    webstack.settings = {**webstack.settings, "nginx_acme_dir": str(nginx.root / "elsewhere")}
    db.session.commit()
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.WAITING and cert.attempts == 1
    assert cert.reason_code == "validation"
    assert 50 < (cert.next_attempt_at - utcnow()).total_seconds() <= 60
    assert count(AcmeOrder, AcmeOrder.failed_name != "") >= 1
    assert "could not reach" in page_text(web.get(f"/websites/{site.id}"))
    assert smtp.messages == []
    cert.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.FAILED and cert.attempts == 2 and cert.next_attempt_at is None
    (mail,) = smtp.messages
    assert "certificate of website Shop failed" in mail["Subject"]
    customer = page_text(web.get(f"/websites/{site.id}"))
    assert "stopped trying; support has been told" in customer
    assert "404" not in customer  # the CA's own words are for staff
    before = pebble.orders()
    order(work)  # a failed certificate is not tried again by itself
    assert pebble.orders() == before
    # "Try again" starts over.
    response = web.submit(f"/websites/{site.id}", {}, post_url=f"/websites/{site.id}/certificate/retry")
    assert response.status_code == 302
    cert = certificate_of(site)
    assert cert.state == CertState.WAITING and cert.attempts == 0
