"""The password strength rules (portal/security/strength.py): what they refuse, and the words they use."""

import pytest

from portal.cli.demo import DEMO_PASSWORD
from portal.security import strength

COMMON = "This password is one of the most common ones."


@pytest.mark.parametrize("password", ["password123", "qwertyuiop", "PASSWORD123", "QwErTyUiOp"])
def test_a_common_password_is_refused_whatever_its_case(password):
    assert strength.weakness(password) == COMMON


def test_a_repeated_character_is_refused_with_zxcvbn_s_warning_in_our_words():
    why = strength.weakness("aaaaaaaaaa")
    assert why is not None
    assert why.startswith('Repeats like "aaa" are easy to guess.')
    assert "Avoid repeated words and characters." in why


def test_a_password_with_the_account_s_name_is_refused():
    # Strong without the name (zxcvbn scores it 4): the name alone makes it weak.
    assert strength.weakness("Hostdeck2026") is None
    why = strength.weakness("Hostdeck2026", ["hostdeck@example.com".partition("@")[0], "Hostdeck Ltd"])
    assert why == 'This password contains "hostdeck", a name from this account: it is easy to guess.'


def test_every_name_of_several_words_counts_word_by_word_and_as_one():
    names = ["Flower Shop", "anna.maria"]
    assert "flower" in strength.weakness("my-flower-garden-77", names)
    assert "shop" in strength.weakness("Shopping-Mall-Galaxy-9", names)
    assert "annamaria" in strength.weakness("x-AnnaMaria-x-blue-ocean", names)


def test_short_names_do_not_refuse_on_their_own():
    # "web" (3 letters) would refuse half of all passphrases; zxcvbn still weighs it as a user input.
    assert strength.weakness("web-ocean-lantern-42", ["web", None, ""]) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("abcdefghij1", 'Sequences like "abc" or "6543" are easy to guess.'),
        ("zxcvbnm,./", "Straight rows of keys are easy to guess."),
        ("P@ssw0rd2024", "This password is very like a common one."),
        ("January2020", "This password is too easy to guess."),
    ],
)
def test_a_weak_password_that_no_list_holds_is_refused_by_its_score(password, reason):
    why = strength.weakness(password)
    assert why is not None
    assert why.startswith(reason)
    assert "Add another word or two. Uncommon words are better." in why


def test_length_is_checked_too():
    assert strength.weakness("Zq8!vR2#") == "Use 10 to 128 characters."
    assert strength.weakness("Zq8!vR2#pL" * 13) == "Use 10 to 128 characters."


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "plum-orbit-ladder-42", "Tr0ub4dor&3xyzw", "x7#Lq9!mZ2@vB4$nR8%k"]
)
def test_a_strong_password_is_accepted(password):
    assert strength.weakness(password, ["customer", "Demo Customer"]) is None


def test_a_long_strong_password_is_accepted():
    assert strength.weakness("correct horse battery staple " * 4 + "plum orbit") is None


def test_the_common_list_is_the_shipped_file_of_the_top_passwords():
    common = strength.common_passwords()
    assert len(common) == 10_000
    assert "password123" in common and "qwertyuiop" in common
    assert all(word == word.lower() for word in common)


def test_the_demo_password_passes_for_every_demo_login():
    names = {
        "admin@example.com": [],
        "staff@example.com": [],
        "reseller@example.com": ["Demo Reseller"],
        "customer@example.com": ["Demo Customer", "Demo Reseller"],
    }
    for email, accounts in names.items():
        assert strength.weakness(DEMO_PASSWORD, [email.partition("@")[0], *accounts]) is None, email
