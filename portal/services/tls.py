"""Checks on a customer's certificate and key before either goes near a server."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from portal.models import utcnow
from portal.models.naming import in_unicode
from portal.services import ServiceError
from portal.words import gettext

MAX_PEM = 64 * 1024


def _covers(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower()
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def check_certificate(cert_pem: str, key_pem: str, names: list[str]) -> str:
    """The certificate, normalised, if it is current, matches the key and covers every name."""
    if len(cert_pem) > MAX_PEM or len(key_pem) > MAX_PEM:
        raise ServiceError(gettext("That is too large for a certificate or key."), field="certificate")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.strip().encode())
    except ValueError as exc:
        raise ServiceError(gettext("The certificate is not a PEM certificate."), field="certificate") from exc
    try:
        key = serialization.load_pem_private_key(key_pem.strip().encode(), password=None)
    except TypeError as exc:
        raise ServiceError(gettext("The key has a passphrase: give it without one."), field="key") from exc
    except ValueError as exc:
        raise ServiceError(gettext("The key is not a PEM private key."), field="key") from exc
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise ServiceError(gettext("The key does not belong to the certificate."), field="key")
    now = utcnow()
    if cert.not_valid_after_utc <= now:
        raise ServiceError(
            gettext("The certificate expired on %(date)s.", date=f"{cert.not_valid_after_utc:%Y-%m-%d}"),
            field="certificate",
        )
    if cert.not_valid_before_utc > now:
        raise ServiceError(gettext("The certificate is not valid yet."), field="certificate")
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = sans.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    missing = [n for n in names if not any(_covers(p, n) for p in dns_names)]
    if missing:
        raise ServiceError(
            gettext("The certificate does not cover %(names)s.", names=", ".join(map(in_unicode, missing))),
            field="certificate",
        )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def normalised_key(key_pem: str) -> str:
    key = serialization.load_pem_private_key(key_pem.strip().encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
