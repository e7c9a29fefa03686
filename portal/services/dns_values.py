"""What a customer may type as a DNS record: the name, the TTL and the value, each checked and turned
into dnspython's rdata text with the zone as origin, never pasted into a zone as typed.

The customer types plain words: TXT as the text itself (stored as 255-byte strings), CAA as
`0 issue letsencrypt.org`, host names with or without the final dot. Nothing that could end a quoted
string, start a zone-file directive ($INCLUDE, $ORIGIN, ...) or a comment reaches the zone.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import idna
from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.TXT import TXT

from portal.models.dns import RECORD_TYPES
from portal.models.validators import shown
from portal.services import ServiceError
from portal.services.text import plain_text
from portal.words import gettext

TTL_MIN, TTL_MAX = 60, 86400
TXT_MAX = 4000  # bytes of one TXT record's text (a 4096-bit DKIM key is about 740)
TXT_STRING = 255  # bytes of one string inside it (RFC 1035)
NAME_MAX = 253
LABEL_MAX = 63
# A label of a record's name or target: letters, digits, hyphens inside, underscores (_sip, _dmarc).
LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
CAA_TAGS = ("issue", "issuewild", "iodef")
# Names the portal answers itself: proof of the domain, ACME challenges, DKIM keys.
RESERVED_FIRST = ("_hostdeck-challenge", "_acme-challenge")
DKIM_LABEL = "_domainkey"


@dataclass(frozen=True)
class Cleaned:
    """A record as it goes into the zone: name relative to the zone ("@" for the apex), rdata text."""

    name: str
    rtype: str
    ttl: int
    value: str


def clean(zone: str, name: str, rtype: str, ttl: int | None, value: str) -> Cleaned:
    """The record checked in full, or a ServiceError at the field that is wrong. `zone` is the domain's
    stored (A-label) name."""
    if rtype not in RECORD_TYPES:
        raise ServiceError(gettext("Choose one of the record types in the list."), field="rtype")
    relative = clean_name(zone, name)
    return Cleaned(relative, rtype, clean_ttl(ttl), clean_value(zone, rtype, value))


def clean_ttl(ttl: int | None) -> int:
    if ttl is None or not TTL_MIN <= ttl <= TTL_MAX:
        raise ServiceError(
            gettext("The TTL is %(low)d to %(high)d seconds (a day).", low=TTL_MIN, high=TTL_MAX), field="ttl"
        )
    return ttl


def _a_labels(text: str, field: str) -> list[str]:
    """The labels of a typed name, lowercase, Unicode ones as xn-- A-labels."""
    labels = []
    for label in text.lower().split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError as exc:
            raise ServiceError(
                gettext("%(label)s is not a valid international name.", label=repr(shown(label))), field=field
            ) from exc
    return labels


def _label_problem(label: str) -> str | None:
    if not label:
        return gettext("There is nothing between two dots.")
    if len(label) > LABEL_MAX:
        return gettext(
            "Each part between the dots has at most %(num)d characters; %(label)s has %(len)d.",
            num=LABEL_MAX,
            label=shown(label),
            len=len(label),
        )
    if not LABEL.fullmatch(label):
        return gettext(
            "%(label)s: use letters, digits, hyphens and underscores between the dots, no hyphen at either end.",
            label=repr(shown(label)),
        )
    return None


def clean_name(zone: str, typed: str) -> str:
    """ "@" or the labels in front of the zone. `www`, `www.example.org` and `www.example.org.` are all
    www in the zone example.org; a name ending in a dot outside the zone is refused."""
    text = plain_text(typed, "name").strip()
    if text in ("", "@"):
        return "@"
    if text.startswith("$"):
        raise ServiceError(gettext("A name cannot start with $."), field="name")
    absolute = text.endswith(".")
    labels = _a_labels(text.removesuffix(".") if absolute else text, "name")
    zone_labels = zone.split(".")
    if labels[-len(zone_labels) :] == zone_labels:  # the full name, with or without the final dot
        labels = labels[: -len(zone_labels)]
    elif absolute:
        raise ServiceError(
            gettext(
                "%(name)s is not in %(zone)s. Type the name inside the zone, such as www.",
                name=shown(text),
                zone=zone,
            ),
            field="name",
        )
    if not labels:
        return "@"
    for i, label in enumerate(labels):
        if label == "*":
            if i:
                raise ServiceError(gettext("A * stands only as the first part of a name, as in *.dev."), field="name")
            continue
        problem = _label_problem(label)
        if problem:
            raise ServiceError(problem, field="name")
    relative = ".".join(labels)
    if len(f"{relative}.{zone}") > NAME_MAX:
        raise ServiceError(
            gettext("A full name has at most %(num)d characters, the domain included.", num=NAME_MAX), field="name"
        )
    try:  # the rules dnspython holds, as the zone will be read
        return str(dns.name.from_text(relative, origin=dns.name.from_text(zone)).relativize(dns.name.from_text(zone)))
    except dns.exception.DNSException as exc:
        raise ServiceError(gettext("%(name)s is not a valid name.", name=repr(shown(text))), field="name") from exc


def reserved_problem(name: str) -> str | None:
    """Names Hostdeck answers itself, whatever else the zone holds."""
    labels = name.split(".")
    if labels[0] in RESERVED_FIRST or DKIM_LABEL in labels[:2]:
        return gettext("Hostdeck publishes %(name)s itself; choose another name.", name=name)
    return None


def clean_value(zone: str, rtype: str, typed: str) -> str:
    text = plain_text(typed, "value").strip()
    if not text:
        raise ServiceError(gettext("Enter the record's value."), field="value")
    if text.startswith("$"):
        raise ServiceError(
            gettext("A value cannot start with $: that is a zone-file instruction, not data."), field="value"
        )
    if '"' in text or "\\" in text:
        raise ServiceError(
            gettext("Leave out quotes and backslashes: type the value as it is, and Hostdeck writes it out."),
            field="value",
        )
    if rtype == "TXT":
        return _txt(text)
    if rtype == "CAA":
        return _caa(text)
    parts = text.split()
    if rtype in ("A", "AAAA"):
        canonical = _address(rtype, text)
    elif rtype in ("CNAME", "NS"):
        if len(parts) != 1:
            raise ServiceError(gettext("Type one host name, such as host.example.net."), field="value")
        canonical = _target(zone, parts[0])
    elif rtype == "MX":
        if len(parts) != 2:
            raise ServiceError(gettext("Type the priority and the mail server, such as 10 mx.example.net."), "value")
        canonical = f"{_number(parts[0], 65535)} {_target(zone, parts[1])}"
    else:  # SRV
        if len(parts) != 4:
            raise ServiceError(
                gettext("Type priority, weight, port and target, such as 10 5 5060 sip.example.net."), "value"
            )
        numbers = " ".join(str(_number(p, 65535)) for p in parts[:3])
        canonical = f"{numbers} {_target(zone, parts[3])}"
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.from_text(rtype), canonical, origin=dns.name.root, relativize=False
        )
    except dns.exception.DNSException as exc:
        raise ServiceError(gettext("%(value)s is not a valid value.", value=repr(shown(text))), "value") from exc
    return str(rdata.to_text())


def _address(rtype: str, text: str) -> str:
    try:
        address = ipaddress.IPv4Address(text) if rtype == "A" else ipaddress.IPv6Address(text)
    except ValueError as exc:
        example = "192.0.2.10" if rtype == "A" else "2001:db8::10"
        raise ServiceError(
            gettext(
                "%(value)s is not an %(type)s address; type one such as %(example)s.",
                value=repr(shown(text)),
                type="IPv4" if rtype == "A" else "IPv6",
                example=example,
            ),
            field="value",
        ) from exc
    return address.compressed


def _number(text: str, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > high:
        raise ServiceError(
            gettext("%(value)s: numbers here are 0 to %(high)d.", value=repr(shown(text)), high=high), field="value"
        )
    return int(text)


def _target(zone: str, text: str) -> str:
    """A host name as a full name with the final dot. "@" is the zone itself, one word (www) a name in
    the zone, anything with a dot a full name (the final dot optional)."""
    if text == "@":
        return f"{zone}."
    name = text.removesuffix(".")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise ServiceError(
            gettext("%(value)s is an address; this record points at a host name.", value=shown(text)), field="value"
        )
    labels = _a_labels(name, "value")
    for label in labels:
        problem = _label_problem(label)
        if problem:
            raise ServiceError(problem, field="value")
    if len(labels) == 1:
        labels += zone.split(".")
    full = ".".join(labels)
    if len(full) > NAME_MAX:
        raise ServiceError(gettext("A full name has at most %(num)d characters.", num=NAME_MAX), field="value")
    return f"{full}."


def _txt(text: str) -> str:
    """The text as TXT rdata: strings of at most 255 bytes, cut between characters, never inside one."""
    data = text.encode("utf-8")
    if len(data) > TXT_MAX:
        raise ServiceError(
            gettext("A TXT record holds at most %(num)d bytes; this one has %(len)d.", num=TXT_MAX, len=len(data)),
            field="value",
        )
    strings: list[bytes] = []
    current = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > TXT_STRING:
            strings.append(current)
            current = b""
        current += encoded
    strings.append(current)
    return str(TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings).to_text())


def _caa(text: str) -> str:
    parts = text.split(None, 2)
    if len(parts) != 3:
        raise ServiceError(gettext("Type flags, tag and value, such as 0 issue letsencrypt.org."), field="value")
    flags, tag, value = _number(parts[0], 255), parts[1].lower(), parts[2]
    if tag not in CAA_TAGS:
        raise ServiceError(
            gettext("The tag is one of %(tags)s.", tags=", ".join(CAA_TAGS)),
            field="value",
        )
    try:
        rdata = CAA(dns.rdataclass.IN, dns.rdatatype.CAA, flags, tag.encode(), value.encode("utf-8"))  # type: ignore[no-untyped-call]
    except (ValueError, dns.exception.DNSException) as exc:
        raise ServiceError(gettext("%(value)s is not a valid value.", value=repr(shown(text))), "value") from exc
    return str(rdata.to_text())


def typed_value(rtype: str, value: str) -> str:
    """A stored value as the customer types it (the edit form): TXT as its text, CAA without quotes."""
    if rtype not in ("TXT", "CAA"):
        return value
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value)
    if isinstance(rdata, TXT):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, CAA):
        return f"{rdata.flags} {rdata.tag.decode()} {rdata.value.decode('utf-8', 'replace')}"
    return value
