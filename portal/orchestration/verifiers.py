"""Plaintext -> the verifier a service understands. Runs in the web process only.

Costs match what the service itself produces by default (`doveadm pw`), since
every login pays them.
"""
from __future__ import annotations

from passlib.hash import argon2, sha512_crypt

DOVECOT_SCHEMES = ("SHA512-CRYPT", "ARGON2ID")

_sha512 = sha512_crypt.using(rounds=5000)
# doveadm pw -s ARGON2ID: m=65536, t=3, p=1 (libsodium verifies only p=1).
_argon2id = argon2.using(type="ID", memory_cost=65536, rounds=3, parallelism=1)


def crypt_sha512(plaintext: str) -> str:
    """A $6$ crypt hash, as chpasswd -e and Dovecot's SHA512-CRYPT take it."""
    return _sha512.hash(plaintext)


def dovecot(scheme: str, plaintext: str) -> str:
    if scheme == "SHA512-CRYPT":
        return "{SHA512-CRYPT}" + crypt_sha512(plaintext)
    if scheme == "ARGON2ID":
        return "{ARGON2ID}" + _argon2id.hash(plaintext)
    raise ValueError(f"unknown Dovecot password scheme {scheme!r}")
