"""Another account's mailbox answers exactly like a missing one, and nothing is recorded."""

import pytest

from portal.extensions import db
from portal.models import Mailbox, Operation, Status
from tests.helpers import count, domain_named, new_mailbox, page_text

MISSING = 987654
PW = {"password": "pw-Cobalt-meadow-58", "confirm": "pw-Cobalt-meadow-58"}
ROUTES = [
    ("GET", "/mailboxes/{id}", {}),
    ("POST", "/mailboxes/{id}/password", PW),
    ("GET", "/mailboxes/{id}/delete", {}),
    ("POST", "/mailboxes/{id}/delete", {}),
]


@pytest.fixture
def foreign_mailbox(make_account, mail_server):
    make_account("Acme", domains=("acme.test",))
    other = make_account("Globex", domains=("globex.test",))
    box = Mailbox(
        account=other,
        domain=domain_named("globex.test"),
        local_part="boss",
        status=Status.APPLIED,
    )
    db.session.add(box)
    db.session.commit()
    return box


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
def test_foreign_mailbox_is_404_like_a_missing_one(web, foreign_mailbox, queued, method, path, data):
    web.login("acme@owner.test")

    def call(object_id):
        url = path.format(id=object_id)
        if method == "GET":
            return web.get(url)
        return web.submit("/mailboxes/new", data, post_url=url)

    foreign, missing = call(foreign_mailbox.id), call(MISSING)
    assert foreign.status_code == missing.status_code == 404
    assert page_text(foreign) == page_text(missing)
    db.session.refresh(foreign_mailbox)
    assert foreign_mailbox.status == Status.APPLIED
    assert count(Operation) == 0
    assert queued() == 0


def test_foreign_status_reads_as_gone(web, foreign_mailbox):
    web.login("acme@owner.test")
    data = web.get(f"/mailboxes/status?ids={foreign_mailbox.id}").get_json()
    assert data == {str(foreign_mailbox.id): {"status": "gone", "error": ""}}


def test_foreign_mailbox_is_not_listed(web, foreign_mailbox):
    web.login("acme@owner.test")
    assert "boss@globex.test" not in web.get("/mailboxes/").get_data(as_text=True)


def test_creating_on_a_foreign_domain_is_refused_and_records_nothing(web, foreign_mailbox, queued):
    web.login("acme@owner.test")
    response = new_mailbox(web, "intruder", domain="globex.test", quota=100)
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert count(Mailbox) == 1
    assert count(Operation) == 0
    assert queued() == 0
