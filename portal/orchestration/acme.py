"""The ACME protocol, with certbot's `acme` package: the portal's account at the CA and one order.

The account key is made here, by the worker, and stored encrypted (security/secrets.py); a changed
SECRET_KEY only means a new account. Certificate keys are never here: the CSR comes from the web server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import josepy as jose
import sqlalchemy as sa
from acme import challenges, client, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from portal.extensions import db
from portal.models import AcmeAccount
from portal.security.secrets import InvalidToken, decrypt, encrypt

# What a CA may send us that reaches a file name or a file on the web server (RFC 8555: base64url).
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,200}$")
KEY_AUTHORIZATION = re.compile(r"^[A-Za-z0-9_-]{16,200}\.[A-Za-z0-9_-]{16,100}$")
ORDER_SECONDS = 120  # how long one order may take at the CA, validations included
PURPOSE = "acme-account"

Client = client.ClientV2
__all__ = ["CaError", "Challenge", "Client", "account", "begin", "finish", "renewal_time", "summary"]


class CaError(Exception):
    """The CA refused or could not be reached. failed_names: the names whose validation failed."""

    def __init__(self, detail: str, failed_names: tuple[str, ...] = (), kind: str = "") -> None:
        super().__init__(detail)
        self.failed_names = failed_names
        self.kind = kind  # the ACME error type's last part ("rateLimited", "dns", ...)


@dataclass(frozen=True)
class Challenge:
    kind: str  # "http-01" or "dns-01"
    name: str  # the identifier it proves (no "*.")
    token: str  # http-01: the file name under /.well-known/acme-challenge/
    value: str  # http-01: the file's content; dns-01: the TXT value
    body: messages.ChallengeBody
    response: challenges.ChallengeResponse

    @property
    def record(self) -> str:
        return f"_acme-challenge.{self.name}"


def _key_secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _network(key: jose.JWK) -> client.ClientNetwork:
    bundle = str(current_app.config["ACME_CA_BUNDLE"] or "")
    net = client.ClientNetwork(key, alg=jose.ES256, user_agent="Hostdeck", timeout=30)
    net.verify_ssl = bundle or True  # type: ignore[assignment]  # goes to requests' verify=, which takes a CA file
    return net


def _stored_key(row: AcmeAccount) -> jose.JWK | None:
    try:
        pem = decrypt(PURPOSE, _key_secret(), row.key_encrypted)
    except InvalidToken:
        return None
    return jose.JWKEC.load(pem.encode())


def account() -> client.ClientV2:
    """A client logged in to the account at ACME_DIRECTORY, registering it (with EAB if set) on first use."""
    config = current_app.config
    url = str(config["ACME_DIRECTORY"])
    row = db.session.scalars(sa.select(AcmeAccount).where(AcmeAccount.directory == url).with_for_update()).first()
    key = _stored_key(row) if row is not None else None
    if row is None or key is None:
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        if row is None:
            row = AcmeAccount(directory=url, key_encrypted="")
            db.session.add(row)
        row.key_encrypted, row.uri = encrypt(PURPOSE, _key_secret(), pem), ""
        key = jose.JWKEC(key=private)
    net = _network(key)
    try:
        acme = client.ClientV2(client.ClientV2.get_directory(url, net), net)
        if row.uri:
            net.account = messages.RegistrationResource(uri=row.uri, body=messages.Registration())
        else:
            eab = None
            if config["ACME_EAB_KID"]:
                eab = messages.ExternalAccountBinding.from_data(
                    key.public_key(), config["ACME_EAB_KID"], config["ACME_EAB_HMAC"], acme.directory
                )
            email = str(config["ACME_EMAIL"] or "") or None
            registration = messages.NewRegistration.from_data(
                email=email, terms_of_service_agreed=True, external_account_binding=eab
            )
            try:
                row.uri = acme.new_account(registration).uri
            except errors.ConflictError as exc:  # registered before, with this key
                row.uri = str(exc)
                net.account = messages.RegistrationResource(uri=row.uri, body=messages.Registration())
    except Exception as exc:
        raise _ca_error(exc) from exc
    db.session.commit()  # the account stays, whatever the order does
    return acme


def _ca_error(exc: BaseException) -> CaError:
    if isinstance(exc, CaError):
        return exc
    if isinstance(exc, errors.ValidationError):
        names, details = [], []
        for authzr in exc.failed_authzrs:
            names.append(authzr.body.identifier.value)
            for challb in authzr.body.challenges:
                if challb.error is not None:
                    details.append(f"{authzr.body.identifier.value}: {challb.error}")
        return CaError("; ".join(details) or str(exc), tuple(names), "validation")
    if isinstance(exc, messages.Error):
        return CaError(str(exc), kind=(exc.code or ""))
    return CaError(f"{type(exc).__name__}: {exc}")


def begin(acme: client.ClientV2, csr_pem: str) -> tuple[messages.OrderResource, list[Challenge]]:
    """A new order for the CSR, and what must be published for its authorizations that are not valid yet:
    http-01 for plain names, dns-01 for wildcards."""
    try:
        order = acme.new_order(csr_pem.encode())
    except Exception as exc:
        raise _ca_error(exc) from exc
    wanted: list[Challenge] = []
    for authzr in order.authorizations:
        if authzr.body.status == messages.STATUS_VALID:
            continue
        name = authzr.body.identifier.value
        kind = challenges.DNS01 if authzr.body.wildcard else challenges.HTTP01
        challb = next((c for c in authzr.body.challenges if isinstance(c.chall, kind)), None)
        if challb is None:
            raise CaError(f"{name}: the CA offers no {kind.typ} challenge", kind="unsupported")
        response, validation = challb.response_and_validation(acme.net.key)
        token = challb.chall.encode("token")
        if not TOKEN.match(token) or (kind is challenges.HTTP01 and not KEY_AUTHORIZATION.match(validation)):
            raise CaError(f"{name}: the CA sent a challenge token Hostdeck does not accept", kind="malformed")
        wanted.append(Challenge(kind.typ, name, token, validation, challb, response))
    return order, wanted


def finish(acme: client.ClientV2, order: messages.OrderResource, answered: list[Challenge]) -> str:
    """Tell the CA the answers are up, wait for it to validate and issue; the chain (PEM, leaf first)."""
    try:
        for item in answered:
            acme.answer_challenge(item.body, item.response)
        deadline = datetime.now() + timedelta(seconds=ORDER_SECONDS)  # acme compares naive local times
        done = acme.poll_and_finalize(order, deadline)
    except Exception as exc:
        raise _ca_error(exc) from exc
    return str(done.fullchain_pem)


def summary(chain: str) -> tuple[str, datetime, datetime]:
    """The leaf's issuer (its organisation or common name), notBefore, notAfter."""
    leaf = x509.load_pem_x509_certificate(chain.encode())
    issuer = leaf.issuer
    for oid in (x509.NameOID.ORGANIZATION_NAME, x509.NameOID.COMMON_NAME):
        found = issuer.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)[:255], leaf.not_valid_before_utc, leaf.not_valid_after_utc
    return issuer.rfc4514_string()[:255], leaf.not_valid_before_utc, leaf.not_valid_after_utc


def renewal_time(acme: client.ClientV2 | None, chain: str) -> datetime:
    """The CA's ACME Renewal Information window when it offers one (a time inside it), else when a third
    of the lifetime is left."""
    _, not_before, not_after = summary(chain)
    if acme is not None:
        try:
            suggested, _ = acme.renewal_time(chain.encode())
        except errors.ARIError:
            suggested = None
        if suggested is not None:
            return suggested if suggested.tzinfo else suggested.astimezone()
    return not_after - (not_after - not_before) / 3
