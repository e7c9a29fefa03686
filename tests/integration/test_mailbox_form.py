"""Bad local parts get a clear form error; nothing is recorded and no job is queued."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Mailbox, Operation
from tests.integration.conftest import domain_id, mailbox

PW = {"password": "pw-0123456789", "confirm": "pw-0123456789", "quota_mb": 100}
BAD = ["a;b", "a$(id)", "a`id`", "a\nb", "a b", "jürgen", "名前", "x" * 65, ".alice", "alice-", "a..b", "a:b", "a/b"]


def nothing_recorded(queued) -> bool:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Mailbox)) + db.session.scalar(
        sa.select(sa.func.count()).select_from(Operation)
    )
    return count == 0 and queued() == 0


@pytest.fixture
def customer(web, make_account, mail_server):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")


@pytest.mark.parametrize("local_part", BAD)
def test_bad_local_part_is_a_form_error(web, customer, queued, local_part):
    response = web.submit("/mailboxes/new", {"local_part": local_part, "domain_id": domain_id("acme.test"), **PW})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "invalid-feedback" in text
    assert ("Use only letters" in text) or ("at most 64" in text)
    assert nothing_recorded(queued)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"confirm": "something-else"}, "The passwords differ."),
        ({"password": "short", "confirm": "short"}, "Use 10 to 128 characters."),
        ({"quota_mb": 0}, "Choose 10 to 102400 MB."),
        ({"quota_mb": "lots"}, "Not a valid integer"),
    ],
)
def test_bad_password_or_quota_is_a_form_error(web, customer, queued, fields, message):
    data = {"local_part": "alice", "domain_id": domain_id("acme.test"), **PW, **fields}
    response = web.submit("/mailboxes/new", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert nothing_recorded(queued)


def test_uppercase_is_folded(web, customer, queued):
    response = web.submit("/mailboxes/new", {"local_part": "Alice.Smith", "domain_id": domain_id("acme.test"), **PW})
    assert response.status_code == 302
    assert mailbox("alice.smith@acme.test") is not None
    assert queued() == 1


def test_duplicate_is_refused(web, customer, queued):
    data = {"local_part": "alice", "domain_id": domain_id("acme.test"), **PW}
    web.submit("/mailboxes/new", data)
    again = web.submit("/mailboxes/new", data)
    assert again.status_code == 200
    assert "alice@acme.test already exists." in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Operation)) == 1
