"""Database verifiers and SQL quoting, checked against the published vectors and the engines' rules."""

import base64
import hashlib
import hmac

import pytest

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
