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
