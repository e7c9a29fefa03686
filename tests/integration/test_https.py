"""HTTPS with the customer's own certificate: checked in the portal, served by nginx, key never kept."""

import os
import socket
import ssl
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.extensions import db
from portal.models import Operation, WebApp, Website
from tests.helpers import count, dump_database, new_system_user, new_web_app, new_website, upload, wait_http


def certificate(names, days=30, start=-1, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)  # noqa: UP017 - spelled out for readers of the test
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def https_get(listen: str, host: str, path: str, ca_pem: str) -> str:
    address, _, port = listen.rpartition(":")
    context = ssl.create_default_context(cadata=ca_pem)
    with (
        socket.create_connection((address, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return data.decode()


@pytest.fixture
def site(web, make_account, webstack, work):
    make_account("Acme", domains=("shop.test",))
    web.login("acme@owner.test")
    user = new_system_user(web, work)
    new_web_app(web, user, "site", memory_limit="64M")
    return user, db.session.scalar(sa.select(WebApp))


def submit(web, app, **tls):
    return new_website(web, "Shop", "shop.test", app, **tls)


def test_https_is_served_and_the_key_is_not_kept(web, site, webstack, sftpd, nginx, work):
    user, app = site
    cert, key = certificate(["shop.test", "www.shop.test"])
    response = submit(web, app, tls_mode="uploaded", certificate=cert, key=key)
    assert response.status_code == 302, response.get_data(as_text=True)
    work()
    upload(sftpd, user, "/webapps/site/index.php", "<?php echo 'secure ', ini_get('memory_limit');")
    wait_http(nginx, "shop.test", "/index.php", 200, "secure 64M")  # plain HTTP still answers
    body = https_get(webstack.settings["nginx_listen_https"], "www.shop.test", "/index.php", cert)
    assert body.startswith("HTTP/1.1 200") and body.endswith("secure 64M")

    key_file = nginx.root / "ssl" / f"hostdeck-site-{db.session.scalar(sa.select(Website.id))}.key"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    secret_part = key.splitlines()[2]
    assert secret_part not in dump_database()
    assert count(Operation, Operation.secret.is_not(None)) == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong key", "The key does not belong to the certificate."),
        ("expired", "The certificate expired"),
        ("other name", "The certificate does not cover shop.test, www.shop.test."),
        ("not pem", "The certificate is not a PEM certificate."),
        ("passphrase", "The key has a passphrase"),
        ("no key", "Give the private key with the certificate"),
    ],
)
def test_bad_certificates_are_refused(web, site, queued, case, message):
    _, app = site
    cert, key = certificate(["shop.test", "www.shop.test"])
    if case == "wrong key":
        key = certificate(["shop.test", "www.shop.test"])[1]
    elif case == "expired":
        cert, key = certificate(["shop.test", "www.shop.test"], days=-1, start=-10)
    elif case == "other name":
        cert, key = certificate(["elsewhere.test"])
    elif case == "not pem":
        cert = "hello"
    elif case == "passphrase":
        loaded = serialization.load_pem_private_key(key.encode(), password=None)
        key = loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        ).decode()
    elif case == "no key":
        key = ""
    response = submit(web, app, tls_mode="uploaded", certificate=cert, key=key)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(Website) == 0
