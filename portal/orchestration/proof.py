"""Proof before service: a domain reaches servers only once its account has proved control of it.

The proof is a TXT record `_hostdeck-challenge.<domain>` holding a token made for that domain and that
account. The token is public (it is published in DNS); it is derived, not stored, so deleting and adding
the domain again in the same account asks for the same record. The outbox (operations.record) asks
`unproven_domain()` before it tells any server of a domain, or of anything on one.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from typing import Any

from flask import current_app

from portal.models import Address, DnsRecord, Domain, Mailbox, Website
from portal.models.status import Provisioned
from portal.models.validators import unicode_name
from portal.words import gettext

PREFIX = "_hostdeck-challenge"
# Special-use names nobody can register (RFC 2606, RFC 6761): the demo may count them as proven.
RESERVED_TLDS = ("test", "example", "invalid", "localhost")


class ProofCode(StrEnum):
    """What a domain's last check found, or how it was verified: Domain.proof_code, with its values in
    Domain.proof_args (plain values, names in A-labels). proof_words() says it in the reader's language.
    Migration 0021 keeps a copy of the codes and of their English words: a new code goes there too."""

    WAITING = "waiting"  # added, nothing looked up yet
    RESERVED = "reserved"  # {"tld": "test"}: a name under a reserved TLD, where those count
    WITH_PARENT = "with_parent"  # {"name": "example.org"}: verified with the account's domain above it
    # What the lookup found (orchestration/proving.py); the resolver's own answer is in proof_detail.
    RECORD_FOUND = "record_found"
    NXDOMAIN = "nxdomain"  # no such name
    NO_TXT = "no_txt"  # the name is there, without TXT records
    WRONG_VALUE = "wrong_value"  # {"values": [...]}: the first few values it holds, cut short
    TIMEOUT = "timeout"
    DNS_ERROR = "dns_error"  # no server answering, or a broken answer
    BY_STAFF = "by_staff"
    BY_RESELLER = "by_reseller"
    BY_OPERATOR = "by_operator"  # flask domains add
    DEMO = "demo"
    SERVED_BEFORE = "served_before"  # migration 0016: served before domains needed proof
    # Another account proved the name (LOST), one above it ({"other": "example.org"}), or one below it
    # (which stays unsaid: it may be unpublished).
    LOST = "lost"
    LOST_ABOVE = "lost_above"
    LOST_BELOW = "lost_below"
    LEGACY = "legacy"  # {"text": ...}: a sentence migration 0021 could not read, shown as it is


def note(domain: Domain, code: ProofCode, **args: Any) -> None:
    """Keep what happened to the domain's proof; it is worded when read."""
    domain.proof_code, domain.proof_args = code.value, args


def proof_words(domain: Domain) -> str:
    """The domain's proof state in the reader's language; empty when nothing was noted yet."""
    return describe(domain, domain.proof_code, domain.proof_args or {})


def describe(domain: Domain, code: str, args: dict[str, Any]) -> str:
    """A code and its values in words, in the reader's language (names in Unicode). An unknown code
    (one from a newer Hostdeck, say) reads as nothing rather than breaking the page."""
    name, record = domain.display_name, record_name(domain.name)
    match code:
        case ProofCode.WAITING:
            return gettext("Waiting for the TXT record.")
        case ProofCode.RESERVED:
            tld = str(args.get("tld", ""))
            return gettext("Counts as verified: names under .%(tld)s are for trying Hostdeck out.", tld=tld)
        case ProofCode.WITH_PARENT:
            return gettext("Verified with %(name)s.", name=unicode_name(str(args.get("name", ""))))
        case ProofCode.RECORD_FOUND:
            return gettext("Verified: %(record)s holds the token.", record=record)
        case ProofCode.NXDOMAIN | ProofCode.NO_TXT:
            return gettext("No TXT record %(record)s was found.", record=record)
        case ProofCode.WRONG_VALUE:
            values = ", ".join(repr(str(v)) for v in args.get("values", []))
            return gettext(
                "The TXT record %(record)s holds %(values)s, not the value shown here.", record=record, values=values
            )
        case ProofCode.TIMEOUT | ProofCode.DNS_ERROR:
            return gettext("The DNS servers did not answer; Hostdeck will look again later.")
        case ProofCode.BY_STAFF:
            return gettext("Marked as verified by support.")
        case ProofCode.BY_RESELLER:
            return gettext("Marked as verified by your provider.")
        case ProofCode.BY_OPERATOR:
            return gettext("Verified: added by the operator.")
        case ProofCode.DEMO:
            return gettext("Verified: a demo domain.")
        case ProofCode.SERVED_BEFORE:
            return gettext("Verified: it was served before domains needed proof.")
        case ProofCode.LOST:
            return gettext(
                "Another account has proved that %(name)s is theirs. This claim can no longer be verified; "
                "you may delete it.",
                name=name,
            )
        case ProofCode.LOST_ABOVE:
            return gettext(
                "Another account has proved %(other)s, which overlaps %(name)s. This claim can no longer be "
                "verified; you may delete it.",
                other=unicode_name(str(args.get("other", ""))),
                name=name,
            )
        case ProofCode.LOST_BELOW:
            return gettext(
                "Another account has proved a domain under %(name)s. This claim can no longer be verified; "
                "you may delete it.",
                name=name,
            )
        case ProofCode.LEGACY:
            return str(args.get("text", ""))
    return ""


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


def lost(domain: Domain, holder: Domain) -> tuple[ProofCode, dict[str, Any]]:
    """Another account proved this name, or one above or below it, first (which account stays unsaid,
    and so does a name below: it may be unpublished)."""
    if holder.name == domain.name:
        return ProofCode.LOST, {}
    if holder.name in parents(domain.name):
        return ProofCode.LOST_ABOVE, {"other": holder.name}
    return ProofCode.LOST_BELOW, {}


def lost_reason(domain: Domain, holder: Domain) -> str:
    """The same, in the reader's language (a refusal, the page of a claim that is over)."""
    code, args = lost(domain, holder)
    return describe(domain, code, args)


def parents(name: str) -> list[str]:
    """The names above this one, short of the top-level domain: shop.example.org -> [example.org]."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels) - 1)]


def unproven_domain(obj: Provisioned) -> Domain | None:
    """The domain, of those an object is served on, that nobody has proved yet."""
    if isinstance(obj, Domain):
        domains = [obj]
    elif isinstance(obj, Mailbox | Address | DnsRecord):
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
