"""Portal login passwords: argon2id, rehashed on login when parameters change."""

from __future__ import annotations

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], argon2__type="ID")


def hash_password(plaintext: str) -> str:
    hashed: str = _context.hash(plaintext)
    return hashed


def check_password(plaintext: str, stored: str | None) -> tuple[bool, str | None]:
    """(matches, new hash or None). Runs the hash even without a user, against timing probes."""
    if not stored:
        _context.dummy_verify()
        return False, None
    ok, new_hash = _context.verify_and_update(plaintext, stored)
    return bool(ok), new_hash
