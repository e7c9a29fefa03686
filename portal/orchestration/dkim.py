"""DKIM keys: their names, their states, and the notes the backends leave for dkim_flow.py.

A key is asked for (NEW), made on the mail server by the opendkim backend's script (which prints only
the public key), published in the zone, and only then signs (ACTIVE). A rotation's old key stays
published, RETIRING, until `retire_at`, so mail signed with it still verifies.

This module sits low (backends import it): it changes rows only. What needs the outbox (publishing a
zone, re-applying the mail server's tables) is noted in the session here and done by dkim_flow.py
just before the commit (its init_app hooks the session).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Domain, utcnow
from portal.models.dns import DkimKey, DkimState

# A selector is one DNS label of our own making; anything else never reaches a script.
SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Domains as stored (A-labels, lowercase): the key's folder on the server.
DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
# What the script prints per key: the domain's id, the selector and the base64 public key.
MARKER = re.compile(r"^hostdeck-dkim (\d+) (\S+) ([A-Za-z0-9+/=]+)$", re.M)
# Keys in the zone: those with a public key in these states (orchestration/zones.py reads them).
PUBLISHED = (DkimState.NEW, DkimState.ACTIVE, DkimState.RETIRING)

# Session notes, read by dkim_flow.py before the commit.
STORED = "hostdeck.dkim.stored"  # domain ids whose public key is new: to publish
SIGN = "hostdeck.dkim.sign"  # domain ids whose signing key changed: the mail servers' tables
ZONED = "hostdeck.dkim.zoned"  # (domain id, backend log id) of zones a DNS server applied


def keys_of(domain: Domain) -> list[DkimKey]:
    return list(db.session.scalars(sa.select(DkimKey).where(DkimKey.domain_id == domain.id).order_by(DkimKey.id)))


def new_selector(domain: Domain, now: datetime | None = None) -> str:
    """hd<yyyymmdd>, with -2, -3... when the domain has that one already (two rotations in a day)."""
    base = f"hd{(now or utcnow()):%Y%m%d}"
    taken = set(db.session.scalars(sa.select(DkimKey.selector).where(DkimKey.domain_id == domain.id)))
    selector, n = base, 1
    while selector in taken:
        n += 1
        selector = f"{base}-{n}"
    return selector


def ask_for_key(domain: Domain) -> DkimKey:
    key = DkimKey(domain_id=domain.id, selector=new_selector(domain), state=DkimState.NEW)
    db.session.add(key)
    db.session.flush()
    return key


def first_key(domain: Domain) -> list[DkimKey]:
    """The domain's keys; a domain that has none (new, or from before DKIM) is given its first."""
    keys = keys_of(domain)
    return keys or [ask_for_key(domain)]


def note(kind: str, domain_ids: Iterable[int]) -> None:
    db.session.info.setdefault(kind, set()).update(domain_ids)


def signing_key(keys: Iterable[DkimKey]) -> DkimKey | None:
    """The key mail is signed with: the newest ACTIVE one."""
    active = [k for k in keys if k.state == DkimState.ACTIVE]
    return max(active, key=lambda k: (k.active_at or datetime.min.replace(tzinfo=utcnow().tzinfo), k.id), default=None)


def promote(domain: Domain, selectors: Iterable[str] | None = None, zone_built: datetime | None = None) -> bool:
    """The domain's NEW keys that have a public key (of these selectors, if given; stored before the
    zone was built, if that time is given) are in DNS now: they sign; the key they replace retires, still
    published, until DKIM_RETIRE_DAYS from now. True if any key changed (the mail servers' tables are
    noted for re-applying)."""
    wanted = set(selectors) if selectors is not None else None
    keys = keys_of(domain)
    ready = [
        k
        for k in keys
        if k.state == DkimState.NEW
        and k.public_key
        and (wanted is None or k.selector in wanted)
        and (zone_built is None or k.updated_at <= zone_built)
    ]
    if not ready:
        return False
    now = utcnow()
    newest = max(ready, key=lambda k: k.id)
    retire_at = now + timedelta(days=float(current_app.config["DKIM_RETIRE_DAYS"]))
    for key in keys:
        if key is newest:
            key.state, key.active_at, key.retire_at = DkimState.ACTIVE, now, None
        elif key.state == DkimState.ACTIVE or key in ready:
            key.state, key.retire_at = DkimState.RETIRING, retire_at
    note(SIGN, [domain.id])
    return True


def published(domain: Domain, selectors: Iterable[str] | None = None) -> bool:
    """For the bind backend's report(): the domain's zone, with the DKIM records of these selectors
    (None: every key it has a public key of), is served now. Its new key starts signing."""
    return promote(domain, selectors)
