"""Plaintext -> the verifier a service understands. Runs in the web process only.

Costs match what the service itself produces by default (`doveadm pw`), since
every login pays them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from nacl import bindings as nacl_bindings
from passlib.hash import argon2, mysql41, sha512_crypt
from passlib.utils import saslprep

DOVECOT_SCHEMES = ("SHA512-CRYPT", "ARGON2ID")

_sha512 = sha512_crypt.using(rounds=5000)
# doveadm pw -s ARGON2ID: m=65536, t=3, p=1 (libsodium verifies only p=1).
_argon2id = argon2.using(type="ID", memory_cost=65536, rounds=3, parallelism=1)


def crypt_sha512(plaintext: str) -> str:
    """A $6$ crypt hash, as chpasswd -e and Dovecot's SHA512-CRYPT take it."""
    hashed: str = _sha512.hash(plaintext)  # passlib has no type information
    return hashed


def dovecot(scheme: str, plaintext: str) -> str:
    if scheme == "SHA512-CRYPT":
        return "{SHA512-CRYPT}" + crypt_sha512(plaintext)
    if scheme == "ARGON2ID":
        hashed: str = _argon2id.hash(plaintext)
        return "{ARGON2ID}" + hashed
    raise ValueError(f"unknown Dovecot password scheme {scheme!r}")


MARIADB_AUTH = ("mysql_native_password", "ed25519")


def mariadb(auth: str, plaintext: str) -> str:
    """What `ALTER USER … IDENTIFIED VIA <auth> USING '<verifier>'` takes."""
    if auth == "mysql_native_password":
        hashed: str = mysql41.hash(plaintext)  # *<SHA1(SHA1(password))>, as PASSWORD() makes it
        return hashed
    if auth == "ed25519":
        # MariaDB's auth_ed25519: the Ed25519 public key of the clamped SHA-512 of the password,
        # base64 without padding, as ed25519_password() makes it.
        digest = bytearray(hashlib.sha512(plaintext.encode()).digest()[:32])
        digest[0] &= 248
        digest[31] &= 63
        digest[31] |= 64
        public = nacl_bindings.crypto_scalarmult_ed25519_base_noclamp(bytes(digest))
        return base64.b64encode(public).decode().rstrip("=")
    raise ValueError(f"unknown MariaDB authentication {auth!r}")


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
