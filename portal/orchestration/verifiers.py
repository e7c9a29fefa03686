"""Plaintext -> the verifier a service understands. Runs in the web process only.

Costs match what the service itself produces by default (`doveadm pw`), since
every login pays them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import re
import secrets
import warnings
from types import ModuleType

from nacl import bindings as nacl_bindings
from passlib.hash import argon2, mysql41, sha512_crypt
from passlib.utils import saslprep

from portal.models import server_settings


def _c_crypt() -> ModuleType | None:
    """The C library's crypt(3): twice as fast as passlib's pure-Python SHA512-CRYPT (2.2 ms against
    4.4 ms a password, measured here), and every mailbox and system-user password pays it. Python 3.13
    drops the module (PEP 594); then passlib's is used."""
    with warnings.catch_warnings():  # looked up, not imported: a plain import warns, and fails on 3.13
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            crypt = importlib.import_module("crypt")
        except ImportError:
            return None
    return crypt if crypt.METHOD_SHA512 in crypt.methods else None


_CRYPT = _c_crypt()

DOVECOT_SCHEMES = server_settings.DOVECOT_SCHEMES  # what the dovecot_scheme setting may say

_sha512 = sha512_crypt.using(rounds=5000)
# doveadm pw -s ARGON2ID: m=65536, t=3, p=1 (libsodium verifies only p=1).
_argon2id = argon2.using(type="ID", memory_cost=65536, rounds=3, parallelism=1)


def crypt_sha512(plaintext: str) -> str:
    """A $6$ crypt hash (5,000 rounds, a 16-character salt from the system's random source), as
    chpasswd -e and Dovecot's SHA512-CRYPT take it."""
    if _CRYPT is not None and "\0" not in plaintext:
        return str(_CRYPT.crypt(plaintext, _CRYPT.mksalt(_CRYPT.METHOD_SHA512)))
    hashed: str = _sha512.hash(plaintext)  # passlib has no type information
    return hashed


def dovecot(scheme: str, plaintext: str) -> str:
    if scheme == "SHA512-CRYPT":
        return "{SHA512-CRYPT}" + crypt_sha512(plaintext)
    if scheme == "ARGON2ID":
        hashed: str = _argon2id.hash(plaintext)
        return "{ARGON2ID}" + hashed
    raise ValueError(f"unknown Dovecot password scheme {scheme!r}")


# Salted first. parsec (MariaDB 11.6+) salts each verifier; ed25519 (10.4+, the default here since
# 10.x has nothing salted) and mysql_native_password do not: equal passwords give equal verifiers.
MARIADB_AUTH = server_settings.MARIADB_AUTH
MARIADB_DEFAULT_AUTH = server_settings.MARIADB_DEFAULT_AUTH
PARSEC_SALT_BYTES = 18  # auth_parsec's CHALLENGE_SALT_LENGTH
PARSEC_ITERATIONS = 0  # 1024 << 0: what the server itself picks for USING PASSWORD('...')


def _b64_unpadded(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def parsec(plaintext: str, salt: bytes | None = None, iterations: int = PARSEC_ITERATIONS) -> str:
    """MariaDB's parsec verifier: `P<n>:<base64 salt>:<base64 key>`, the key being the Ed25519
    public key whose seed is PBKDF2-HMAC-SHA512(password, salt, 1024 << n, 32)."""
    salt = salt if salt is not None else secrets.token_bytes(PARSEC_SALT_BYTES)
    if len(salt) != PARSEC_SALT_BYTES or not 0 <= iterations <= 3:  # the server reads '0'..'3' only
        raise ValueError("a parsec salt has 18 bytes and its iteration digit is 0 to 3")
    seed = hashlib.pbkdf2_hmac("sha512", plaintext.encode(), salt, 1024 << iterations, 32)
    public, _secret = nacl_bindings.crypto_sign_seed_keypair(seed)
    return f"P{iterations}:{_b64_unpadded(salt)}:{_b64_unpadded(public)}"


def mariadb(auth: str, plaintext: str) -> str:
    """What `ALTER USER … IDENTIFIED VIA <auth> USING '<verifier>'` takes."""
    if auth == "parsec":
        return parsec(plaintext)
    if auth == "ed25519":
        # MariaDB's auth_ed25519: the Ed25519 public key of the clamped SHA-512 of the password,
        # base64 without padding, as ed25519_password() makes it. No salt: the plugin has none.
        digest = bytearray(hashlib.sha512(plaintext.encode()).digest()[:32])
        digest[0] &= 248
        digest[31] &= 63
        digest[31] |= 64
        return _b64_unpadded(nacl_bindings.crypto_scalarmult_ed25519_base_noclamp(bytes(digest)))
    if auth == "mysql_native_password":
        hashed: str = mysql41.hash(plaintext)  # *<SHA1(SHA1(password))>, as PASSWORD() makes it
        return hashed
    raise ValueError(f"unknown MariaDB authentication {auth!r}")


_MARIADB_SHAPES = {
    "parsec": re.compile(r"^P[0-3]:[A-Za-z0-9+/]{24}:[A-Za-z0-9+/]{43}$"),
    "ed25519": re.compile(r"^[A-Za-z0-9+/]{43}$"),
    "mysql_native_password": re.compile(r"^\*[0-9A-F]{40}$"),
}


def mariadb_auth_of(verifier: str) -> str:
    """Which plugin a verifier is for, from its shape: the server setting may change before it is applied."""
    for auth, shape in _MARIADB_SHAPES.items():
        if shape.match(verifier):
            return auth
    raise ValueError("not a MariaDB verifier")


SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def scram_sha256(plaintext: str, salt: bytes | None = None) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier (RFC 5802/7677), as `ALTER ROLE … PASSWORD` stores it."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    try:
        prepared: str = saslprep(plaintext)
    except ValueError:
        prepared = plaintext  # PostgreSQL, too, uses the raw bytes when SASLprep refuses
    salted = hashlib.pbkdf2_hmac("sha256", prepared.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"
