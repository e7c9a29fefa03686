"""What a customer may type as a DNS record (services/dns_values.py): names inside the zone, TTLs in
bounds, values parsed per type by dnspython and stored as rdata text; anything that could break out
of a zone file (quotes, backslashes, newlines, $ directives, comments) is refused before any script."""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from portal.services import ServiceError
from portal.services.dns_values import TTL_MAX, TTL_MIN, clean, reserved_problem, typed_value

ZONE = "example.org"


def refused(name="www", rtype="A", ttl=3600, value="192.0.2.1") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        clean(ZONE, name, rtype, ttl, value)
    return caught.value


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("", "@"),
        ("@", "@"),
        ("www", "www"),
        ("WWW", "www"),
        ("www.example.org", "www"),
        ("www.example.org.", "www"),
        ("example.org.", "@"),
        ("a.b.c", "a.b.c"),
        ("_sip._tcp", "_sip._tcp"),
        ("*", "*"),
        ("*.dev", "*.dev"),
        ("bücher", "xn--bcher-kva"),
        ("x" * 63, "x" * 63),
    ],
)
def test_names_inside_the_zone(typed, stored):
    assert clean(ZONE, typed, "A", 3600, "192.0.2.1").name == stored


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("www.example.net.", "is not in example.org"),
        ("x" * 64, "at most 63 characters"),
        (".".join(["a" * 60] * 4), "at most 253 characters"),
        ("a.*", "A * stands only as the first part"),
        ("*x", "use letters, digits, hyphens and underscores"),
        ("a..b", "nothing between two dots"),
        ("-a", "no hyphen at either end"),
        ("a b", "use letters, digits"),
        ("a;b", "use letters, digits"),
        ('a"b', "use letters, digits"),
        ("a\nb", "Line breaks and control characters are not allowed"),
        ("$ORIGIN", "cannot start with $"),
        ("$INCLUDE", "cannot start with $"),
    ],
)
def test_names_refused(typed, words):
    error = refused(name=typed)
    assert words in error.message
    assert error.field == "name"


@pytest.mark.parametrize("ttl", [None, 0, TTL_MIN - 1, TTL_MAX + 1, 10**9])
def test_ttl_in_bounds(ttl):
    error = refused(ttl=ttl)
    assert error.field == "ttl"
    assert f"{TTL_MIN} to {TTL_MAX} seconds" in error.message


@pytest.mark.parametrize(
    ("rtype", "typed", "stored"),
    [
        ("A", "192.0.2.1", "192.0.2.1"),
        ("AAAA", "2001:DB8:0::1", "2001:db8::1"),
        ("CNAME", "ghs.google.com", "ghs.google.com."),
        ("CNAME", "ghs.google.com.", "ghs.google.com."),
        ("CNAME", "www", "www.example.org."),
        ("CNAME", "@", "example.org."),
        ("NS", "ns1.other.net", "ns1.other.net."),
        ("MX", "10 mx.example.net", "10 mx.example.net."),
        ("MX", "0 mail", "0 mail.example.org."),
        ("SRV", "10 5 5060 sip.example.net", "10 5 5060 sip.example.net."),
        ("CAA", "0 issue letsencrypt.org", '0 issue "letsencrypt.org"'),
        ("CAA", "128 iodef mailto:ca@example.org", '128 iodef "mailto:ca@example.org"'),
        ("TXT", "v=spf1 include:_spf.example.net -all", '"v=spf1 include:_spf.example.net -all"'),
        ("TXT", "a $ in the middle is text", '"a $ in the middle is text"'),
        ("TXT", "a; b (c)", '"a; b (c)"'),
    ],
)
def test_values_stored_as_rdata_text(rtype, typed, stored):
    value = clean(ZONE, "www", rtype, 3600, typed).value
    assert value == stored
    # dnspython reads it back as the same record, without an origin: names are absolute.
    assert dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), value).to_text() == stored


def test_long_txt_is_split_into_255_byte_strings():
    key = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A" * 19  # 626 characters, as a DKIM key
    assert len(key) > 600
    value = clean(ZONE, "sel._custom", "TXT", 3600, key).value
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    assert [len(s) for s in rdata.strings] == [255, 255, len(key) - 510]
    assert b"".join(rdata.strings).decode() == key
    assert typed_value("TXT", value) == key


def test_txt_is_split_between_characters():
    text = "é" * 200  # 400 bytes: a cut at 255 would fall inside a character
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, clean(ZONE, "t", "TXT", 3600, text).value)
    assert [len(s) for s in rdata.strings] == [254, 146]
    assert all(s.decode("utf-8") for s in rdata.strings)
    assert typed_value("TXT", clean(ZONE, "t", "TXT", 3600, text).value) == text


@pytest.mark.parametrize(
    ("rtype", "typed", "words"),
    [
        ("TXT", 'abc" IN A 1.2.3.4', "Leave out quotes and backslashes"),
        ("TXT", "abc\\", "Leave out quotes and backslashes"),
        ("TXT", "one\ntwo", "Line breaks and control characters are not allowed"),
        ("TXT", "one\r\ntwo", "Line breaks and control characters are not allowed"),
        ("TXT", "$INCLUDE /etc/shadow", "cannot start with $"),
        ("TXT", "$ORIGIN evil.example.", "cannot start with $"),
        ("TXT", "$TTL 1", "cannot start with $"),
        ("TXT", "$GENERATE 1-100 a$ A 1.2.3.4", "cannot start with $"),
        ("TXT", "x" * 4001, "at most 4000 bytes"),
        ("A", "192.0.2.1 ; comment", "is not an IPv4 address"),
        ("A", "192.0.2.1\nwww A 1.2.3.4", "Line breaks"),
        ("A", "2001:db8::1", "is not an IPv4 address"),
        ("A", "192.0.2.01", "is not an IPv4 address"),
        ("AAAA", "192.0.2.1", "is not an IPv6 address"),
        ("CNAME", "a b", "one host name"),
        ("CNAME", "192.0.2.1", "is an address"),
        ("CNAME", "host;evil", "use letters, digits"),
        ("CNAME", "x" * 64 + ".example.net", "at most 63 characters"),
        ("CNAME", "a..b", "nothing between two dots"),
        ("MX", "mx.example.net", "the priority and the mail server"),
        ("MX", "70000 mx.example.net", "numbers here are 0 to 65535"),
        ("MX", "-1 mx.example.net", "numbers here are 0 to 65535"),
        ("SRV", "10 5 sip.example.net", "priority, weight, port and target"),
        ("CAA", "0 issue", "flags, tag and value"),
        ("CAA", "0 evil x", "The tag is one of"),
        ("CAA", '0 issue "x"', "Leave out quotes"),
        ("MX", "", "Enter the record's value"),
    ],
)
def test_hostile_and_wrong_values_refused(rtype, typed, words):
    error = refused(rtype=rtype, value=typed)
    assert words in error.message
    assert error.field == "value"


def test_unknown_type_refused():
    assert refused(rtype="SOA").field == "rtype"


@pytest.mark.parametrize("name", ["_hostdeck-challenge", "_acme-challenge", "_acme-challenge.www", "sel._domainkey"])
def test_reserved_names(name):
    assert reserved_problem(name)


def test_every_stored_value_makes_a_zone_dnspython_reads():
    """The stored values, written the way a zone builder would (name, TTL, type, rdata text), read back."""
    records = [
        clean(ZONE, *args)
        for args in [
            ("@", "MX", 3600, "10 mx.example.net"),
            ("www", "CNAME", 300, "ghs.google.com"),
            ("_sip._tcp", "SRV", 3600, "10 5 5060 sip"),
            ("dkim._custom", "TXT", 3600, "p=" + "A" * 700),
            ("@", "CAA", 3600, "0 issue letsencrypt.org; validationmethods=dns-01"),
        ]
    ]
    text = "\n".join(
        ["@ 3600 SOA ns1.example.org. admin.example.org. 1 3600 600 86400 60", "@ 3600 NS ns1.example.org."]
        + [f"{r.name} {r.ttl} {r.rtype} {r.value}" for r in records]
    )
    zone = dns.zone.from_text(text, origin=ZONE + ".", relativize=False)
    assert len(list(zone.iterate_rdatas())) == 7
