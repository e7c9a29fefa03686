"""Proof before service: a domain reaches servers only once its account has proved control of it.

The proof is a TXT record `_hostdeck-challenge.<domain>` holding a token made for that domain and that
account. The token is public (it is published in DNS); it is derived, not stored, so deleting and adding
the domain again in the same account asks for the same record. The outbox (operations.record) asks
`unproven_domain()` before it tells any server of a domain, or of anything on one.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from portal.models import Address, Domain, Mailbox, Website
from portal.models.status import Provisioned
from portal.words import gettext

PREFIX = "_hostdeck-challenge"
# What migration 0016 wrote on every domain served before proof was asked (the migration keeps its copy).
SERVED_BEFORE = "Verified: it was served before domains needed proof."
# Special-use names nobody can register (RFC 2606, RFC 6761): the demo may count them as proven.
RESERVED_TLDS = ("test", "example", "invalid", "localhost")


class NotProven(Exception):
    """Something would reach a server for a domain nobody has proved. Its message is for the customer."""


def token(account_id: int, name: str) -> str:
    """The value the TXT record must hold for this account's claim on this name."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"hostdeck domain proof\0{account_id}\0{name}".encode()
    return "hostdeck-proof-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def record_name(name: str) -> str:
    return f"{PREFIX}.{name}"


def reserved(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in RESERVED_TLDS


def reserved_counts() -> bool:
    return bool(current_app.config["RESERVED_TLDS_VERIFIED"])


def proven(domain: Domain) -> bool:
    return domain.verified_at is not None or (reserved_counts() and reserved(domain.name))


def waiting_reason(domain: Domain) -> str:
    """A refusal (or a page's words): in the reader's language."""
    return str(
        gettext(
            "%(name)s is not verified yet: add the TXT record %(record)s shown on its page, then check it.",
            name=domain.display_name,
            record=record_name(domain.name),
        )
    )


def overlap_words(typed: str, name: str, holder: Domain) -> str:
    """Another account holds a name above or below this one. A name above is public knowledge (the
    customer typed below it); one below may be unpublished, so it stays unsaid, like the account."""
    if holder.name in parents(name):
        return str(
            gettext("%(name)s overlaps %(other)s, which another account uses.", name=typed, other=holder.display_name)
        )
    return str(gettext("%(name)s overlaps a domain another account uses.", name=typed))


def lost_reason(domain: Domain, holder: Domain) -> str:
    """Another account proved this name, or one above or below it, first (which account stays unsaid).
    In the reader's language: stored words take it under force_locale (orchestration/proving.py)."""
    if holder.name == domain.name:
        words = gettext(
            "Another account has proved that %(name)s is theirs. This claim can no longer be verified; "
            "you may delete it.",
            name=domain.display_name,
        )
    elif holder.name in parents(domain.name):
        words = gettext(
            "Another account has proved %(other)s, which overlaps %(name)s. This claim can no longer be "
            "verified; you may delete it.",
            other=holder.display_name,
            name=domain.display_name,
        )
    else:
        words = gettext(
            "Another account has proved a domain under %(name)s. This claim can no longer be verified; "
            "you may delete it.",
            name=domain.display_name,
        )
    return str(words)


def parents(name: str) -> list[str]:
    """The names above this one, short of the top-level domain: shop.example.org -> [example.org]."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def unproven_domain(obj: Provisioned) -> Domain | None:
    """The domain, of those an object is served on, that nobody has proved yet."""
    if isinstance(obj, Domain):
        domains = [obj]
    elif isinstance(obj, Mailbox | Address):
        domains = [obj.domain]
    elif isinstance(obj, Website):
        domains = list(obj.domains)
    else:
        return None
    return next((d for d in domains if not proven(d)), None)


def check_served(obj: Provisioned) -> None:
    """Refuse to tell a server of an object on an unproven domain."""
    domain = unproven_domain(obj)
    if domain is not None:
        raise NotProven(waiting_reason(domain))
