"""Database verifiers and SQL quoting, checked against the published vectors and the engines' rules."""

import base64
import hashlib
import hmac
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal.orchestration import verifiers
from portal.orchestration.script import UnsafeValue
from portal.orchestration.sql import mariadb_grant_name, mariadb_name, mariadb_string, pg_name, pg_string

# RFC 7677, section 3: user "user", password "pencil".
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)
CLIENT_PROOF = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
SERVER_SIGNATURE = base64.b64decode("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_scram_verifier_matches_rfc_7677():
    verifier = verifiers.scram_sha256("pencil", salt=SALT)
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    assert method == "SCRAM-SHA-256" and iterations_salt == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    # The server's signature in the RFC's exchange comes from this ServerKey...
    assert hmac.new(server_key, AUTH_MESSAGE, "sha256").digest() == SERVER_SIGNATURE
    # ...and the client's proof opens with this StoredKey.
    signature = hmac.new(stored_key, AUTH_MESSAGE, "sha256").digest()
    client_key = bytes(a ^ b for a, b in zip(CLIENT_PROOF, signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_scram_salts_differ_and_the_wrong_password_gives_another_key():
    assert verifiers.scram_sha256("pencil") != verifiers.scram_sha256("pencil")
    assert verifiers.scram_sha256("pencil", salt=SALT) != verifiers.scram_sha256("pencil2", salt=SALT)


def test_mariadb_verifiers():
    # What MariaDB's PASSWORD('secret') and ed25519_password('secret') return.
    assert verifiers.mariadb("mysql_native_password", "secret") == "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"
    assert verifiers.mariadb("ed25519", "secret") == "ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY"
    with pytest.raises(ValueError, match="unknown MariaDB authentication 'old_password'"):
        verifiers.mariadb("old_password", "secret")


def test_mariadb_defaults_to_ed25519_and_offers_parsec_first():
    assert verifiers.MARIADB_DEFAULT_AUTH == "ed25519"
    assert verifiers.MARIADB_AUTH == ("parsec", "ed25519", "mysql_native_password")


# MariaDB's release notes for 11.4 (Enterprise): SHOW GRANTS after
# CREATE USER ... IDENTIFIED VIA PARSEC USING PASSWORD('MyPassword123!').
PARSEC_EXAMPLE = "P0:lhXyNv1cIxpB8EnTxR7ON7S7:1l3rWRW1/jw45yrvYXB8eh02wzk7lcJcz4CMcWw2b+8"
PARSEC_FORMAT = re.compile(r"^P0:[A-Za-z0-9+/]{24}:[A-Za-z0-9+/]{43}$")  # auth_parsec's Passwd_as_stored


def test_parsec_matches_what_the_server_made():
    salt = base64.b64decode(PARSEC_EXAMPLE.split(":")[1])
    assert verifiers.parsec("MyPassword123!", salt=salt) == PARSEC_EXAMPLE
    assert verifiers.parsec("MyPassword124!", salt=salt) != PARSEC_EXAMPLE


def test_parsec_is_salted_so_equal_passwords_give_different_verifiers():
    first, second = verifiers.mariadb("parsec", "same password"), verifiers.mariadb("parsec", "same password")
    assert first != second
    assert PARSEC_FORMAT.match(first) and PARSEC_FORMAT.match(second)
    assert first.split(":")[1] != second.split(":")[1]  # the salts differ, and so the keys
    assert len(base64.b64decode(first.split(":")[1])) == verifiers.PARSEC_SALT_BYTES
    with pytest.raises(ValueError, match="18 bytes"):
        verifiers.parsec("x", salt=b"short")


def test_parsec_login_as_the_protocol_describes_it():
    """The client derives the key from the ext-salt the server sends (P, iterations, salt), signs the
    server's and its own scramble with it; the server checks the signature with the stored key."""
    stored = verifiers.parsec("pässword")
    algorithm_and_iterations, salt_b64, key_b64 = stored.split(":")
    salt = base64.b64decode(salt_b64)
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64 + "="))
    iterations = 1024 << int(algorithm_and_iterations[1])
    scrambles = b"s" * 32 + b"c" * 32
    for password, accepted in (("pässword", True), ("password", False)):
        seed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 32)
        signature = Ed25519PrivateKey.from_private_bytes(seed).sign(scrambles)  # OpenSSL, as the server
        try:
            public.verify(signature, scrambles)
            verified = True
        except InvalidSignature:
            verified = False
        assert verified is accepted


def test_ed25519_on_mariadb_10_is_not_salted():
    """A fact the docs state: only parsec (11.6+) gives two users with one password different verifiers."""
    assert verifiers.mariadb("ed25519", "same password") == verifiers.mariadb("ed25519", "same password")


def test_sql_quoting_follows_each_engine():
    assert mariadb_name("a`b") == "`a``b`"
    assert mariadb_string("it's \\ here") == "'it''s \\\\ here'"
    assert mariadb_grant_name("acme1_blog%") == "`acme1\\_blog\\%`"  # not wildcards in GRANT
    assert pg_name('a"b') == '"a""b"'
    assert pg_string("it's") == "'it''s'"
    for bad in ("a\x00b", "a\nb"):
        for quote in (mariadb_name, mariadb_string, pg_name, pg_string):
            with pytest.raises(UnsafeValue):
                quote(bad)
    with pytest.raises(UnsafeValue):
        pg_string("back\\slash")
