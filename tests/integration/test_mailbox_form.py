"""The new-mailbox form: a bad local part, password or quota gets a clear form error, and nothing is
recorded or queued; capitals are folded; a mailbox that exists is refused."""

import pytest

from portal.models import Mailbox, Operation
from tests.helpers import count, mailbox, new_mailbox

LETTERS = "Use only letters a-z, digits, dots, hyphens and underscores"
BAD = {
    "a;b": LETTERS,
    "a$(id)": LETTERS,
    "a`id`": LETTERS,
    "a\nb": "Line breaks and control characters are not allowed (U+000A)",
    "alice\n": "Line breaks and control characters are not allowed (U+000A)",
    "al\u2028ice": "Line breaks and control characters are not allowed (U+2028 LINE SEPARATOR)",
    "a b": LETTERS,
    "jürgen": LETTERS,
    "名前": LETTERS,
    "x" * 65: "Use at most 64 characters.",
    ".alice": LETTERS,
    "alice-": LETTERS,
    "a..b": LETTERS,
    "a:b": LETTERS,
    "a/b": LETTERS,
}


def nothing_recorded(queued) -> bool:
    return count(Mailbox) + count(Operation) == 0 and queued() == 0


@pytest.fixture
def customer(web, make_account, mail_server):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")


@pytest.mark.parametrize("local_part", BAD)
def test_bad_local_part_is_a_form_error(web, customer, queued, local_part):
    response = new_mailbox(web, local_part, quota=100)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "invalid-feedback" in text
    assert BAD[local_part] in text
    assert nothing_recorded(queued)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"confirm": "something-else"}, "The passwords differ."),
        ({"password": "short", "confirm": "short"}, "Use 10 to 128 characters."),
        ({"quota_mb": 0}, "Choose 10 to 102400 MB."),
        ({"quota_mb": "lots"}, "Type a whole number, in digits."),
        ({"quota_mb": str(10**20)}, "Choose 10 to 102400 MB."),
    ],
)
def test_bad_password_or_quota_is_a_form_error(web, customer, queued, fields, message):
    response = new_mailbox(web, "alice", quota=100, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert nothing_recorded(queued)


def test_uppercase_is_folded(web, customer, queued):
    response = new_mailbox(web, "Alice.Smith", quota=100)
    assert response.status_code == 302
    assert mailbox("alice.smith@acme.test") is not None
    assert queued() == 1


def test_duplicate_is_refused(web, customer, queued):
    new_mailbox(web, "alice", quota=100)
    again = new_mailbox(web, "alice", quota=100)
    assert again.status_code == 200
    assert "alice@acme.test already exists." in again.get_data(as_text=True)
    assert count(Operation) == 1
