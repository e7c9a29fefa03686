"""TXT values split into 255-byte strings, as DNS carries them, and read back whole."""

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from portal.orchestration.zones import txt


def _strings(value: str) -> list[bytes]:
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    return list(rdata.strings)


def test_long_text_is_split_into_strings_of_at_most_255_bytes():
    key = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 14
    strings = _strings(txt(key))
    assert len(strings) == 3 and all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode() == key


def test_quotes_and_backslashes_stay_inside_the_value():
    text = 'a "quoted" \\ value; $ORIGIN evil.'
    assert b"".join(_strings(txt(text))).decode() == text


def test_multibyte_text_is_split_by_bytes():
    text = "ñ" * 200  # 400 bytes
    strings = _strings(txt(text))
    assert [len(s) for s in strings] == [255, 145]
    assert b"".join(strings).decode() == text
