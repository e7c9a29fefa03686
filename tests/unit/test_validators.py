"""What the models accept from people: no control characters, domain names as lowercase IDNA, local
parts of letters, digits, dots, hyphens and underscores."""

import re

import pytest

from portal.models.validators import control_problem, domain_to_ascii, local_part_problem

CONTROL = "Control characters such as line breaks are not allowed."
NOT_A_DOMAIN = "is not a valid domain name"


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\x1b[31m", "tab\there", "del\x7f"])
def test_control_characters_are_refused(value):
    assert control_problem(value) == CONTROL


def test_plain_text_passes():
    assert control_problem("/var/vmail/ü ok") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Example.COM", "example.com"),
        ("bücher.example.", "xn--bcher-kva.example"),
        ("a-b.c.example", "a-b.c.example"),
    ],
)
def test_domains_become_lowercase_idna(name, expected):
    assert domain_to_ascii(name) == expected


BAD_DOMAINS = {
    "localhost": NOT_A_DOMAIN,
    "-a.example": NOT_A_DOMAIN,
    "a-.example": NOT_A_DOMAIN,
    "a..example": NOT_A_DOMAIN,
    "exa mple.com": NOT_A_DOMAIN,
    "exa\nmple.com": CONTROL,
    "x" * 64 + ".com": NOT_A_DOMAIN,
    "a_b.example": NOT_A_DOMAIN,
    "$(id).example": NOT_A_DOMAIN,
}


@pytest.mark.parametrize("name", BAD_DOMAINS)
def test_bad_domains_are_refused(name):
    with pytest.raises(ValueError, match=re.escape(BAD_DOMAINS[name])):
        domain_to_ascii(name)


@pytest.mark.parametrize("value", ["alice", "a", "first.last", "a_b-c", "x" * 64])
def test_good_local_parts(value):
    assert local_part_problem(value) is None
