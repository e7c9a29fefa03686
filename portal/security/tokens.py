"""Personal access tokens: how one is made and how a request's is recognised.

A token is `hdpat_` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored, so a copy of
the database opens nothing; the first characters are kept apart to tell tokens apart in a list.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import ApiToken, User, utcnow
from portal.models.tokens import PREFIX

SHOWN = len(PREFIX) + 4  # "hdpat_" and four characters: enough to tell a person's tokens apart
TOUCH_EVERY = timedelta(seconds=60)  # last use is written at most this often per token and address


# Every API request runs it: built once, so SQLAlchemy works out its cache key once. The owner and
# their account come in the same query.
BY_DIGEST = (
    sa.select(ApiToken)
    .where(ApiToken.digest == sa.bindparam("digest"))
    .options(joinedload(ApiToken.user, innerjoin=True).joinedload(User.account))
)


class Refused(Enum):
    """Why a request's token was not taken (the API says it in words)."""

    MISSING = "missing"
    UNKNOWN = "unknown"  # no such token, a revoked one or an expired one: the same answer
    NETWORK = "network"
    INACTIVE = "inactive"  # the owner's login or account is switched off (suspended)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make() -> tuple[str, str, str]:
    """A new token: (the token, its prefix, its digest)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:SHOWN], digest(secret)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def in_networks(ip: str, networks: list[str] | None) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in networks)


def authenticate(header: str | None, ip: str) -> ApiToken | Refused:
    """The live token a request carries, with its last use noted; else why not."""
    secret = bearer(header)
    if secret is None:
        return Refused.MISSING
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return Refused.UNKNOWN
    now = utcnow()
    token = db.session.scalar(BY_DIGEST, {"digest": digest(secret)})
    if token is not None and (token.revoked_at is not None or token.expires_at <= now):
        token = None
    if token is None:
        return Refused.UNKNOWN
    if not in_networks(ip, token.networks):
        return Refused.NETWORK
    if not token.user.is_active:
        return Refused.INACTIVE
    if token.last_used_at is None or token.last_used_ip != ip or now - token.last_used_at > TOUCH_EVERY:
        _touch(token, now, ip)
    return token


def _touch(token: ApiToken, now: datetime, ip: str) -> None:
    """Note the last use in a transaction of its own: a write request's transaction never holds the
    token's row, so one token's requests never wait for each other."""
    with db.engine.begin() as connection:
        connection.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now, last_used_ip=ip))
    set_committed_value(token, "last_used_at", now)
    set_committed_value(token, "last_used_ip", ip)
