"""The portal's own secrets at rest (TOTP seeds, the ACME account key): Fernet, one key per purpose,
derived from a configured key, so one leaked derived key opens nothing else."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet"]


def fernet(purpose: str, key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"hostdeck-{purpose}:{key}".encode()).digest()))


def encrypt(purpose: str, key: str, plaintext: str) -> str:
    return fernet(purpose, key).encrypt(plaintext.encode()).decode()


def decrypt(purpose: str, key: str, token: str) -> str:
    """Raises InvalidToken when the key changed (or the text is not ours)."""
    return fernet(purpose, key).decrypt(token.encode()).decode()
