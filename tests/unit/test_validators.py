import pytest

from portal.models.validators import control_problem, domain_to_ascii, local_part_problem


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\x1b[31m", "tab\there", "del\x7f"])
def test_control_characters_are_refused(value):
    assert control_problem(value)


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


@pytest.mark.parametrize(
    "name",
    [
        "localhost",
        "-a.example",
        "a-.example",
        "a..example",
        "exa mple.com",
        "exa\nmple.com",
        "x" * 64 + ".com",
        "a_b.example",
        "$(id).example",
    ],
)
def test_bad_domains_are_refused(name):
    with pytest.raises(ValueError):
        domain_to_ascii(name)


@pytest.mark.parametrize("value", ["alice", "a", "first.last", "a_b-c", "x" * 64])
def test_good_local_parts(value):
    assert local_part_problem(value) is None
