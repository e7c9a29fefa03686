"""Two-factor login: TOTP (RFC 6238) with pyotp, and one-time recovery codes.

The seed is stored encrypted (Fernet, keyed from TOTP_KEY or SECRET_KEY). A code is accepted once:
the accepted time step is recorded, and a code from that step or an earlier one is refused.

Every check of a code goes through `verify()` (a second factor: login, step-up, impersonation,
turning two-factor off, new recovery codes) or `confirm_enrolment()`, and so through `_throttled()`:
wrong codes are counted per user and per IP (security/throttle.py), and past the limit the request
is refused with 429, whatever the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from flask import abort, current_app

from portal.extensions import db
from portal.models import RecoveryCode, User, utcnow
from portal.models.base import rowcount
from portal.security import throttle
from portal.security.secrets import fernet
from portal.words import gettext

RECOVERY_CODES = 10
DRIFT = 1  # accept the previous and the next 30-second step too: phone clocks drift


def _fernet() -> Fernet:
    return fernet("totp", current_app.config["TOTP_KEY"] or current_app.config["SECRET_KEY"])


def begin_enrolment(user: User) -> str:
    """A new seed for the user, counted once `confirm_enrolment()` accepts a code from it."""
    seed = pyotp.random_base32()
    user.totp_secret = _fernet().encrypt(seed.encode()).decode()
    user.totp_enabled, user.totp_last_step = False, None
    return seed


def seed_of(user: User) -> str | None:
    if not user.totp_secret:
        return None
    try:
        return _fernet().decrypt(user.totp_secret.encode()).decode()
    except InvalidToken:  # the key changed: the user enrols again
        return None


def provisioning_uri(user: User, seed: str) -> str:
    return pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images, not inline scripts)."""
    svg = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage).to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _accept_code(user: User, code: str) -> bool:
    """Is this the user's current code, and not one already used? Marks it used."""
    seed = seed_of(user)
    code = "".join(code.split())
    if seed is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(seed)
    now = totp.timecode(utcnow())
    for step in range(now - DRIFT, now + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # One UPDATE, so two requests racing with the same code cannot both win.
            won = rowcount(
                db.session.execute(
                    sa.update(User)
                    .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                    .values(totp_last_step=step)
                    .execution_options(synchronize_session=False)
                )
            )
            if won:
                user.totp_last_step = step
            return bool(won)
    return False


def _throttled(user: User, check: Callable[[], bool]) -> bool:
    """Run a check of the user's code, counting it when wrong. Past the limit of wrong codes for the
    user or from the IP, refuse (429) before looking at the code: a right one guessed now fails too."""
    ip = throttle.client_ip()
    if throttle.codes_blocked(user.id, ip):
        abort(429, description=gettext("Too many wrong codes. Wait a minute and try again."))
    if check():
        return True
    throttle.code_failed(user.id, ip)
    return False


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor on if the code matches the pending seed; the new recovery codes, or None."""
    if user.totp_secret is None or not _throttled(user, lambda: _accept_code(user, code)):
        return None
    user.totp_enabled = True
    return new_recovery_codes(user)


def disable(user: User) -> None:
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _code_hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().replace("-", "").split()).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes, shown once; the old ones stop working."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))  # 16 of 31 symbols: ~79 bits
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)) for code in codes)
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    used = rowcount(
        db.session.execute(
            sa.update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.used_at.is_(None),
                RecoveryCode.code_hash == _code_hash(code),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    return bool(used)


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def verify(user: User, code: str) -> bool:
    """A second factor: the authenticator's code, or else one of the recovery codes. Throttled:
    past the limit of wrong codes, a 429."""
    return _throttled(user, lambda: user.totp_enabled and (_accept_code(user, code) or _use_recovery_code(user, code)))
