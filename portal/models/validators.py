"""Rules for text that reaches servers: free text, local parts, domain names and e-mail addresses.
Shared by forms and services, so every face of the portal refuses the same things in the same words."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import cache

import idna
from publicsuffixlist import PublicSuffixList

from portal.words import gettext

# Controls, invisible format characters, line and paragraph separators: none of them reaches a server
# (U+0085 and U+2028 end a line in some parsers, U+202E turns text around, U+200B hides in a name).
HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})


# How much of a person's input a message repeats: a 3,000-character name must not widen the page.
SHOWN_MAX = 60


def shown(text: str, limit: int = SHOWN_MAX) -> str:
    """Input as a message repeats it: whole up to `limit` characters, else its first `limit` and "…".
    Every message that echoes what someone typed goes through it."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def _named(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def normalise_lines(text: str) -> str:
    """Browsers send a text area's line breaks as CR LF; servers get LF."""
    return text.replace("\r\n", "\n")


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """None when the text is plain, else what is wrong, naming the character.

    multiline: ordinary line breaks (LF, after normalise_lines) are fine, nothing else of those kinds."""
    for char in value:
        category = unicodedata.category(char)
        if category not in HIDDEN or (multiline and char == "\n"):
            continue
        if category == "Cf":
            return f"Invisible characters are not allowed ({_named(char)}); type the text without them."
        if multiline:
            return f"Only ordinary line breaks are allowed, no other control characters ({_named(char)})."
        return f"Line breaks and control characters are not allowed ({_named(char)})."
    return None


# Letters, digits and . _ - ; starts and ends with a letter or digit; no "..".
LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")
LOCAL_PART_MAX = 64


def local_part_problem(value: str) -> str | None:
    """None when valid, else what is wrong, in words a customer understands."""
    if not value:
        return "Enter the part before the @."
    problem = control_problem(value)
    if problem:
        return problem
    if len(value) > LOCAL_PART_MAX:
        return f"Use at most {LOCAL_PART_MAX} characters."
    if not value.isascii() or not LOCAL_PART.fullmatch(value) or ".." in value:
        return (
            "Use only letters a-z, digits, dots, hyphens and underscores, starting and ending with a letter or digit."
        )
    return None


@cache
def public_suffixes() -> PublicSuffixList:
    """The Public Suffix List bundled with the pinned package (ICANN and private sections), read offline
    on first use: reading it takes about 0.1 s, which no process should pay at start-up."""
    return PublicSuffixList()


# Scripts that one label may combine (UTS #39, "highly restrictive"): Japanese, Chinese, Korean with Latin.
MIXES = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)
# The first word of a letter's Unicode name is its script, but for these spellings of one script.
SCRIPT_ALIASES = {"KATAKANA-HIRAGANA": "KATAKANA", "IDEOGRAPHIC": "CJK", "HALFWIDTH": "KATAKANA"}
COMMON_LETTERS = {"MODIFIER"}  # letters of no script of their own


def _ignored(char: str) -> bool:
    """A character UTS-46 drops without a trace (zero-width, variation selectors, soft hyphen...)."""
    if char.isascii():
        return False
    try:
        return idna.uts46_remap(char, std3_rules=False) == ""
    except idna.IDNAError:
        return False


def _scripts(label: str) -> dict[str, None]:
    """The scripts of a label's letters, in the order they appear."""
    scripts: dict[str, None] = {}
    for char in label:
        if unicodedata.category(char).startswith("L"):
            word = unicodedata.name(char, "?").split(" ")[0]
            word = SCRIPT_ALIASES.get(word, word)
            if word not in COMMON_LETTERS:
                scripts[word] = None
    return scripts


def _mixed_scripts(label: str) -> str | None:
    scripts = _scripts(label)
    if len(scripts) <= 1 or any(scripts.keys() <= mix for mix in MIXES):
        return None
    words = " and ".join(s.title() for s in scripts)
    return f"{label} mixes {words} letters; use the letters of one script, so it cannot pass for another name."


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        # Resolvers read 127.1 or 0x7f.1 as addresses too: no top-level domain is a number.
        last = name.rsplit(".", 1)[-1]
        return "." in name and (last.isdigit() or bool(re.fullmatch(r"0x[0-9a-f]*", last, re.IGNORECASE)))
    return True


IDNA_REASONS = {
    "label_too_long": "Each part between the dots has at most 63 characters.",
    "domain_too_long": "A domain name has at most 253 characters.",
    "empty_label": "There is nothing between two dots.",
    "hyphen_start_end": "No part may start or end with a hyphen.",
    "hyphen_3_4": "Only an xn-- part may have hyphens as its 3rd and 4th characters.",
    "invalid_alabel": "An xn-- part must decode to a valid international name.",
    "non_canonical_alabel": "An xn-- part must decode to a valid international name.",
}


def domain_to_ascii(name: str) -> str:
    """The lowercase A-label (IDNA, UTS-46) form of a registrable domain name, or ValueError in plain words.

    The one domain validator: domains, forwards and every other field that holds a domain."""
    text = name.strip()
    problem = control_problem(text)
    if problem:
        raise ValueError(problem)
    hidden = next((char for char in text if _ignored(char)), None)
    if hidden is not None:
        raise ValueError(f"Invisible characters are not allowed ({_named(hidden)}); type the name without them.")
    if not text:
        raise ValueError("Enter a domain name.")
    if _looks_like_ip(text.removesuffix(".")):
        raise ValueError(
            gettext("%(name)s is an IP address; enter a domain name such as example.com.", name=shown(text))
        )
    try:
        # One trailing dot (the root, in any script's full stop) is fine; idna refuses more.
        ascii_name = idna.encode(text, uts46=True, std3_rules=True).decode("ascii").removesuffix(".")
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError as exc:
        reason = IDNA_REASONS.get(getattr(exc, "code", ""), "Use letters, digits and hyphens between the dots.")
        raise ValueError(
            gettext("%(name)s is not a valid domain name. %(reason)s", name=repr(shown(name.strip())), reason=reason)
        ) from exc
    if public_suffixes().is_public(ascii_name, accept_unknown=False):
        raise ValueError(
            f"{unicode_name} is a public suffix, shared by many owners; enter a name registered under it, "
            f"such as example.{unicode_name}."
        )
    if "." not in ascii_name:
        raise ValueError(f"{unicode_name} is a single name; enter a full domain name such as example.com.")
    for label in unicode_name.split("."):
        problem = _mixed_scripts(label)
        if problem:
            raise ValueError(problem)
    return ascii_name


# An address's part before the @ as RFC 5322 writes it unquoted (dot-atom), in ASCII.
ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LOCAL = re.compile(rf"{ATOM}(?:\.{ATOM})*")


def email_to_ascii(address: str) -> str:
    """user@domain in lowercase with the domain as A-labels, or ValueError in plain words."""
    value = address.strip()
    problem = control_problem(value)
    if problem:
        raise ValueError(problem)
    local, at, domain = value.lower().rpartition("@")
    if not at or not local:
        raise ValueError(
            gettext("%(address)s: an address needs a name before the @ and a domain after it.", address=shown(value))
        )
    if len(local) > LOCAL_PART_MAX:
        raise ValueError(
            gettext(
                "%(address)s: the part before the @ has at most %(max)d characters.",
                address=shown(value),
                max=LOCAL_PART_MAX,
            )
        )
    if not EMAIL_LOCAL.fullmatch(local):
        raise ValueError(
            gettext(
                "%(address)s: the part before the @ may use letters a-z, digits and "
                "! # $ %% & ' * + / = ? ^ _ ` { | } ~ -, with single dots between them.",
                address=shown(value),
            )
        )
    try:
        return f"{local}@{domain_to_ascii(domain)}"
    except ValueError as exc:
        raise ValueError(f"{shown(value)}: {exc}") from exc


def ascii_for_search(text: str) -> str:
    """What someone typed to find a domain, as domains are stored: each part between the dots that is not
    ASCII in its xn-- form (bücher -> xn--bcher-kva), the rest lowercase. Never refuses: it is a search."""
    labels = []
    for label in text.strip().lower().split("."):
        try:
            labels.append(label if label.isascii() else idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError:
            labels.append(label)
    return ".".join(labels)


def unicode_name(name: str) -> str:
    """A stored (A-label) domain name in Unicode, as people write it; IDNA 2008, as it was checked."""
    if "xn--" not in name:  # nothing to decode, and lists ask this once per row
        return name
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


def address_in_unicode(address: str) -> str:
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{unicode_name(domain)}" if at else address
