"""Automatic certificates against Pebble: http-01 through the test nginx, what stops an order before the
CA hears of it (names elsewhere, rate limits), renewals, failures that back off and stop, and keys that
stay where they belong (the certificate's on the web server, the ACME account's encrypted)."""

import logging
import socket
import ssl
import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AcmeAccount, AcmeOrder, BackendLog, Certificate, CertState, WebApp, Website, utcnow
from portal.orchestration import certificates
from portal.orchestration.acme import PURPOSE
from portal.security.secrets import decrypt
from tests.helpers import count, dump_database, new_system_user, new_web_app, new_website, page_text, upload, wait_http
from tests.integration.test_https import certificate as self_signed
from tests.integration.test_secrets_stay_secret import PROBE, ArgvWatcher

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
    cert, before = certificate_of(site), pebble.orders()
    assert cert.state == CertState.WAITING
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.ISSUED, (cert.reason_code, cert.detail)
    assert pebble.orders() == before + 1
    assert cert.names == [NAME, f"www.{NAME}"]
    assert "Pebble" in cert.issuer
    assert cert.renew_at < cert.not_after
    shown = served_chain(webstack, f"www.{NAME}")
    assert "Pebble Intermediate CA" in shown, shown
    # The chain verifies against Pebble's issuing root, and the site answers over it.
    assert https_get(webstack, f"www.{NAME}", pebble.issuing_root()).endswith("fresh paint")
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
    assert "urn:ietf:params:acme:error" in cert.detail
    assert "urn:ietf:params:acme:error" not in customer  # the CA's own words are for staff
    before = pebble.orders()
    order(work)  # a failed certificate is not tried again by itself
    assert pebble.orders() == before
    # "Try again" starts over.
    response = web.submit(f"/websites/{site.id}", {}, post_url=f"/websites/{site.id}/certificate/retry")
    assert response.status_code == 302
    cert = certificate_of(site)
    assert cert.state == CertState.WAITING and cert.attempts == 0
    # Staff impersonating the customer read both: the plain words and what the CA said.
    owner_id = site.account.users[0].id
    web.logout()
    web.login("staff@hostdeck.test")
    assert web.submit("/", {"reason": "ticket #7"}, post_url=f"/impersonate/{owner_id}").status_code == 302
    staff_view = page_text(web.get(f"/websites/{site.id}"))
    assert "could not reach" in staff_view and "urn:ietf:params:acme:error" in staff_view


def serial_served(webstack, name: str) -> str:
    shown = served_chain(webstack, name)
    leaf = shown[shown.index("-----BEGIN CERTIFICATE-----") : shown.index("-----END CERTIFICATE-----") + 25]
    return subprocess.run(
        ["openssl", "x509", "-noout", "-serial"], input=leaf, capture_output=True, text=True, check=True
    ).stdout.strip()


def due_now(website) -> None:
    """Move the clock: the renewal window is open."""
    cert = certificate_of(website)
    cert.renew_at = cert.next_attempt_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def test_renewal_runs_when_its_window_opens(site, webstack, pebble, work):
    order(work)
    first, before = serial_served(webstack, NAME), pebble.orders()
    order(work)  # not due: nothing happens
    assert pebble.orders() == before and serial_served(webstack, NAME) == first
    due_now(site)
    order(work)
    cert = certificate_of(site)
    assert cert.state == CertState.ISSUED and cert.renew_at > utcnow()
    assert pebble.orders() == before + 1
    renewed = serial_served(webstack, NAME)
    assert renewed != first
    assert https_get(webstack, NAME, pebble.issuing_root()).endswith("fresh paint")


def test_a_renewal_nginx_refuses_leaves_the_serving_certificate(site, webstack, nginx, pebble, work):
    order(work)
    first = serial_served(webstack, NAME)
    key_file = nginx.root / "ssl" / f"hostdeck-site-{site.id}.key"
    key_before = key_file.read_text()
    broken = nginx.sites_dir / "broken.conf"  # something nginx -t refuses, beside the site
    broken.write_text("server { no_such_directive on; }\n")
    try:
        due_now(site)
        order(work)
        db.session.expire_all()
        assert site.status == "failed"  # the chain did not go live
        assert serial_served(webstack, NAME) == first
        assert key_file.read_text() == key_before  # the old key is back beside the old chain
        assert https_get(webstack, NAME, pebble.issuing_root()).endswith("fresh paint")
    finally:
        broken.unlink()


def test_a_save_between_a_new_key_and_its_chain_keeps_the_pair(web, site, webstack, nginx, pebble, work):
    """A key made for a renewal whose chain never came: an unrelated save keeps the old chain and key."""
    order(work)
    first = serial_served(webstack, NAME)
    next_key = nginx.root / "ssl" / f"hostdeck-site-{site.id}.key.next"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", next_key])
    response = web.submit(
        f"/websites/{site.id}",
        {"name": "Shop renamed", "domain_ids": [d.id for d in site.domains], "with_www": "y", "tls_mode": "auto"},
    )
    assert response.status_code == 302, page_text(response)
    work()
    assert serial_served(webstack, NAME) == first
    assert next_key.exists()  # still waiting for its chain
    assert https_get(webstack, NAME, pebble.issuing_root()).startswith("HTTP/1.1 ")


def edit(web, website, **fields):
    data = {"name": "Shop", "domain_ids": [d.id for d in website.domains], "with_www": "y", "root_app": 0}
    return web.submit(f"/websites/{website.id}", {**data, **fields})


def test_redirect_and_hsts_are_rendered_by_nginx(web, site, webstack, nginx, pebble, work):
    order(work)
    app_id = db.session.scalar(sa.select(WebApp.id))
    assert edit(web, site, tls_mode="auto", root_app=app_id, redirect_https="y", hsts="y").status_code == 302
    work()
    conn_status, _ = nginx.get(NAME, "/")
    assert conn_status == 301
    # The challenge location still answers over HTTP: a renewal needs it.
    answers = nginx.root / "acme-challenge"
    answers.mkdir(exist_ok=True)
    (answers / "probe-token-0123456789").write_text("probe")
    answers.chmod(0o755)
    (answers / "probe-token-0123456789").chmod(0o644)
    assert nginx.get(NAME, "/.well-known/acme-challenge/probe-token-0123456789") == (200, "probe")
    config = (nginx.sites_dir / f"hostdeck-site-{site.id}.conf").read_text()
    http_block, https_block = config.split("server {")[1:]
    assert "Strict-Transport-Security" in https_block and "Strict-Transport-Security" not in http_block
    assert https_get(webstack, NAME, pebble.issuing_root()).endswith("fresh paint")


@pytest.mark.parametrize("how", ["uploaded", "none", "delete"])
def test_leaving_automatic_certificates_drops_the_certificate_and_its_files(web, site, nginx, pebble, work, how):
    order(work)
    ssl_dir, site_id = nginx.root / "ssl", site.id
    files = [f"hostdeck-site-{site_id}.crt", f"hostdeck-site-{site_id}.key"]
    assert sorted(p.name for p in ssl_dir.glob(f"hostdeck-site-{site_id}.*")) == files
    if how == "delete":
        response = web.submit(f"/websites/{site_id}/delete", {})
    elif how == "none":
        response = edit(web, site, tls_mode="none")
    else:
        cert, key = self_signed([NAME, f"www.{NAME}"])
        response = edit(web, site, tls_mode="uploaded", certificate=cert, key=key)
    assert response.status_code == 302, page_text(response)
    assert count(Certificate) == 0
    work()
    left = sorted(p.name for p in ssl_dir.glob(f"hostdeck-site-{site_id}.*"))
    if how == "uploaded":  # the customer's own pair replaced the automatic one
        assert left == files
        assert "Pebble" not in (ssl_dir / left[0]).read_text()
    else:
        assert left == []
    before = pebble.orders()
    order(work)
    assert pebble.orders() == before


def test_hostile_choices_are_refused(web, site, work):
    response = edit(web, site, tls_mode="auto; rm -rf /")
    assert response.status_code == 200
    assert "Not a valid choice" in page_text(response)
    db.session.expire_all()
    assert db.session.get(Website, site.id).tls_mode == "auto"


def key_lines(pem: str) -> list[str]:
    """The full base64 lines of a PEM EC key: any of them anywhere would be a leak. (Not the short last
    line: a PKCS#8 EC key ends with its public point, which the CSR and the JWS rightly carry, and which
    the logs then show in the same base64 about one time in three.)"""
    return [line for line in pem.splitlines() if len(line) == 64]


def test_the_certificate_key_never_leaves_the_web_server(site, nginx, sshd, redis_server, work, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    watcher = ArgvWatcher()
    watcher.start()
    subprocess.run(["sh", "-c", "sleep 0.3", PROBE], check=True)  # the watcher sees short-lived processes
    time.sleep(0.05)
    assert any(PROBE.encode() in argv for argv in watcher.every)
    try:
        order(work)
        redis = redis_server.all_values().decode("utf-8", "replace")
    finally:
        watcher.stop.set()
        watcher.join()
    assert certificate_of(site).state == CertState.ISSUED
    key_file = nginx.root / "ssl" / f"hostdeck-site-{site.id}.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    secrets = key_lines(key_file.read_text())
    account_pem = decrypt(PURPOSE, "test-secret", db.session.scalar(sa.select(AcmeAccount.key_encrypted)))
    secrets += key_lines(account_pem)
    assert len(secrets) >= 4
    haystacks = {
        "database": dump_database(),
        "redis": redis + redis_server.all_values().decode("utf-8", "replace"),
        "app log": caplog.text + "".join(capfd.readouterr()),
        "sshd log": sshd.log_text(),
        "backend logs": "\n".join(
            f"{e.script}{e.stdout}{e.stderr}{e.error}" for e in db.session.scalars(sa.select(BackendLog))
        ),
        "argv": "\n".join(argv.decode("utf-8", "replace") for argv in watcher.every),
    }
    assert "BEGIN CERTIFICATE REQUEST" in haystacks["backend logs"]  # the CSR came back, the key did not
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a private key's line found in {where}"
