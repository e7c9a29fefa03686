"""What the models accept from people: no control, invisible or separator characters; domain names
through one UTS-46 validator (no IP literals, no single labels, no public suffixes, one script per
label); local parts of letters, digits, dots, hyphens and underscores."""

import re
import subprocess
import sys

import idna
import pytest

from portal.models.validators import (
    control_problem,
    domain_to_ascii,
    email_to_ascii,
    local_part_problem,
    normalise_lines,
)

LINE_BREAKS = "Line breaks and control characters are not allowed"
ONLY_LINE_BREAKS = "Only ordinary line breaks are allowed"
INVISIBLE = "Invisible characters are not allowed"
NOT_A_DOMAIN = "is not a valid domain name"
PAYPAL = "p\u0430ypal.com"  # the second letter is CYRILLIC SMALL LETTER A


def wide(text: str) -> str:
    """The fullwidth forms of ASCII letters, as an East Asian keyboard may type them."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


# Every Unicode control, format and line or paragraph separator character is refused, not only ASCII's.
HIDDEN = {
    "a\nb": LINE_BREAKS,
    "a\rb": LINE_BREAKS,
    "a\x00b": LINE_BREAKS,
    "a\x1b[31m": LINE_BREAKS,
    "tab\there": LINE_BREAKS,
    "del\x7f": LINE_BREAKS,
    "next\x85line": LINE_BREAKS,  # NEL (Cc)
    "line\u2028sep": LINE_BREAKS,  # Zl
    "para\u2029sep": LINE_BREAKS,  # Zp
    "zero\u200bwidth": INVISIBLE,  # Cf
    "bom\ufeff": INVISIBLE,
    "rtl\u202eoverride": INVISIBLE,
    "soft\u00adhyphen": INVISIBLE,
}


@pytest.mark.parametrize("value", HIDDEN)
def test_control_format_and_separator_characters_are_refused(value):
    problem = control_problem(value)
    assert problem is not None
    assert problem.startswith(HIDDEN[value])


def test_the_refusal_names_the_character():
    assert "U+2028 LINE SEPARATOR" in control_problem("a\u2028b")
    assert "U+0085" in control_problem("a\x85b")


def test_plain_text_passes():
    assert control_problem("/var/vmail/ü ok — «quoted» 日本") is None


def test_multiline_text_keeps_ordinary_line_breaks_only():
    assert control_problem("Away.\n\nBack on Monday.", multiline=True) is None
    assert normalise_lines("one\r\ntwo\r\n") == "one\ntwo\n"
    for value in ("a\u2028b", "a\x85b", "a\u2029b", "a\rb", "a\tb", "a\x0bb", "a\u200bb"):
        problem = control_problem(value, multiline=True)
        assert problem is not None, repr(value)
        assert problem.startswith(INVISIBLE if "\u200b" in value else ONLY_LINE_BREAKS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Example.COM", "example.com"),
        ("bücher.example.", "xn--bcher-kva.example"),
        ("a-b.c.example", "a-b.c.example"),
        (f"{wide('EXAMPLE')}.{wide('COM')}", "example.com"),  # UTS-46 maps fullwidth and uppercase
        (f"{wide('Example')}\u3002com", "example.com"),  # and the ideographic full stop
        ("BÜCHER.Example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("example.co.uk", "example.co.uk"),
        ("foo.github.io", "foo.github.io"),
        ("mail.example.co.uk", "mail.example.co.uk"),
        ("faß.de", "xn--fa-hia.de"),  # non-transitional: ß stays ß
        ("日本語.jp", "xn--wgv71a119e.jp"),
        ("ひらがな漢字カタカナ.jp", idna.encode("ひらがな漢字カタカナ.jp").decode()),  # Japanese mixes these
    ],
)
def test_domains_become_lowercase_idna(name, expected):
    assert domain_to_ascii(name) == expected


BAD_DOMAINS = {
    "": "Enter a domain name",
    "localhost": "a single name",
    "intranet": "a single name",
    "com": "public suffix",
    "co.uk": "public suffix",
    "github.io": "public suffix",  # the private section of the list counts too
    "CO.UK.": "public suffix",
    "192.0.2.1": "IP address",
    "[::1]": "IP address",
    "::1": "IP address",
    "[192.0.2.1]": "IP address",
    "127.1": "IP address",
    "exa\u200bmple.com": INVISIBLE,  # UTS-46 would silently drop it
    "exa\u00admple.com": INVISIBLE,
    "exa\u034fmple.com": INVISIBLE,  # combining grapheme joiner: not Cf, but UTS-46 ignores it
    "exa\ufe0fmple.com": INVISIBLE,  # variation selector
    PAYPAL: "mixes Latin and Cyrillic",
    idna.encode(PAYPAL).decode(): "mixes Latin and Cyrillic",  # the same as an A-label
    "xn--zz.com": NOT_A_DOMAIN,  # an A-label that decodes to no valid U-label
    "xn---bbk.example": NOT_A_DOMAIN,  # not the canonical Punycode
    "-a.example": NOT_A_DOMAIN,
    "a-.example": NOT_A_DOMAIN,
    "ab--cd.example": NOT_A_DOMAIN,
    "a..example": NOT_A_DOMAIN,
    "exa mple.com": NOT_A_DOMAIN,
    "exa\nmple.com": LINE_BREAKS,
    "exa\u2028mple.com": LINE_BREAKS,
    "x" * 64 + ".com": "at most 63",
    ("a" * 60 + ".") * 5 + "com": "at most 253",
    "a_b.example": NOT_A_DOMAIN,
    "$(id).example": NOT_A_DOMAIN,
    "example.com..": NOT_A_DOMAIN,
}


@pytest.mark.parametrize("name", BAD_DOMAINS)
def test_bad_domains_are_refused(name):
    with pytest.raises(ValueError, match=re.escape(BAD_DOMAINS[name])):
        domain_to_ascii(name)


@pytest.mark.parametrize("name", ["xn--zz.com", PAYPAL, "exa\u200bmple.com", "co.uk", "192.0.2.1"])
def test_forwards_use_the_same_domain_rules(name):
    with pytest.raises(ValueError) as as_domain:
        domain_to_ascii(name)
    with pytest.raises(ValueError) as as_forward:
        email_to_ascii(f"user@{name}")
    assert str(as_domain.value) in str(as_forward.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("user@bücher.example", "user@xn--bcher-kva.example"),
        ("First.Last+tag@Example.COM", "first.last+tag@example.com"),
        ("o'brien@example.co.uk", "o'brien@example.co.uk"),
    ],
)
def test_forwards_become_a_labels(address, expected):
    assert email_to_ascii(address) == expected


@pytest.mark.parametrize(
    "address", ["user", "@example.com", "us er@example.com", "a..b@example.com", ".a@example.com", "ü@example.com"]
)
def test_bad_forward_local_parts_are_refused(address):
    with pytest.raises(ValueError, match="before the @"):
        email_to_ascii(address)


def test_forward_local_part_length():
    with pytest.raises(ValueError, match="at most 64"):
        email_to_ascii("x" * 65 + "@example.com")


def test_the_suffix_list_works_without_a_network():
    """The list comes with the pinned package: nothing is downloaded at run time."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network')\n"
        "socket.socket.connect = socket.socket.connect_ex = socket.getaddrinfo = refuse\n"
        "from portal.models.validators import domain_to_ascii\n"
        "assert domain_to_ascii('example.co.uk') == 'example.co.uk'\n"
        "try:\n"
        "    domain_to_ascii('co.uk')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "public suffix" in done.stdout


@pytest.mark.parametrize("value", ["alice", "a", "first.last", "a_b-c", "x" * 64])
def test_good_local_parts(value):
    assert local_part_problem(value) is None


@pytest.mark.parametrize("value", ["alice\n", "alice\u2028", "al\x85ice", "-a", "a.", "a..b", "Ä", "x" * 65, ""])
def test_bad_local_parts(value):
    assert local_part_problem(value) is not None
