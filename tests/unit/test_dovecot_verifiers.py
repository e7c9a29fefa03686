"""Verifiers are what Dovecot itself would make, and Dovecot accepts them."""

import shutil
import subprocess

import pytest
from passlib.hash import argon2, sha512_crypt

from portal.orchestration import verifiers
from tests.testbed.plugin import need


def test_sha512_crypt_uses_dovecot_default_cost():
    verifier = verifiers.dovecot("SHA512-CRYPT", "pw one")
    assert verifier.startswith("{SHA512-CRYPT}$6$")
    assert "rounds=" not in verifier  # 5000, the crypt default that doveadm pw uses
    assert sha512_crypt.verify("pw one", verifier.removeprefix("{SHA512-CRYPT}"))
    assert not sha512_crypt.verify("pw two", verifier.removeprefix("{SHA512-CRYPT}"))


def test_argon2id_uses_dovecot_default_cost():
    verifier = verifiers.dovecot("ARGON2ID", "pw one")
    assert verifier.startswith("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$")
    assert argon2.verify("pw one", verifier.removeprefix("{ARGON2ID}"))


def test_same_password_gets_a_new_salt_each_time():
    assert verifiers.dovecot("SHA512-CRYPT", "x") != verifiers.dovecot("SHA512-CRYPT", "x")


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="unknown Dovecot password scheme 'PLAIN'"):
        verifiers.dovecot("PLAIN", "pw")


@pytest.mark.parametrize("scheme", verifiers.DOVECOT_SCHEMES)
def test_doveadm_accepts_our_verifiers(scheme):
    need(shutil.which("doveadm"), "doveadm (dovecot-core)")
    verifier = verifiers.dovecot(scheme, "pässword 1")
    good = subprocess.run(["doveadm", "pw", "-t", verifier, "-p", "pässword 1"], capture_output=True)
    bad = subprocess.run(["doveadm", "pw", "-t", verifier, "-p", "wrong"], capture_output=True)
    assert good.returncode == 0, good.stderr
    assert bad.returncode == 75 and b"Password mismatch" in bad.stderr  # EX_TEMPFAIL


@pytest.mark.parametrize("c_library", [True, False])
def test_sha512_crypt_from_the_c_library_or_passlib_is_the_same_scheme(monkeypatch, c_library):
    """crypt(3) where Python still has it, passlib where not (3.13): either verifies the other's."""
    if c_library and verifiers._CRYPT is None:
        pytest.skip("this Python has no crypt module")
    if not c_library:
        monkeypatch.setattr(verifiers, "_CRYPT", None)
    for password in ("pw one", "pässwörd ü 12", "x" * 128):
        hashed = verifiers.crypt_sha512(password)
        assert hashed.startswith("$6$") and "rounds=" not in hashed
        assert len(hashed.split("$")[2]) == 16  # the salt
        assert sha512_crypt.verify(password, hashed)
        assert not sha512_crypt.verify(password + "!", hashed)
