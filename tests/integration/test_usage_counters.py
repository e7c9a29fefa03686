"""Usage counters: they follow creates and applied deletes for the account and its reseller, and the
dashboard, the list pages and the reseller's usage column read them instead of counting rows.
(Every test's teardown also checks them against the rows: tests/conftest.py.)"""
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Mailbox, Status
from portal.services import usage
from tests.integration.conftest import domain_id

PW = {"password": "pw-0123456789", "confirm": "pw-0123456789"}


@pytest.fixture
def app_config():
    return {"PER_PAGE": 2}


def used(name: str) -> dict[str, int]:
    db.session.expire_all()
    account = db.session.scalar(sa.select(Account).where(Account.name == name))
    return {"mailboxes": account.used_mailboxes, "quota_mb": account.used_quota_mb, "domains": account.used_domains}


def create(web, name: str, quota: int = 10):
    reply = web.submit("/mailboxes/new", {"local_part": name, "domain_id": domain_id("acme.test"),
                                          "quota_mb": quota, **PW})
    assert reply.status_code == 302, reply.get_data(as_text=True)[:300]


def test_counters_follow_creates_and_applied_deletes(web, make_account, local_server, app):
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    assert used("Acme") == {"mailboxes": 0, "quota_mb": 0, "domains": 1}
    web.login("acme@owner.test")
    create(web, "one", quota=30)
    create(web, "two", quota=20)
    assert used("Acme") == {"mailboxes": 2, "quota_mb": 50, "domains": 1}
    assert used("Resell") == used("Acme")  # a reseller's figures include its sub-accounts'

    box_id = db.session.scalar(sa.select(Mailbox.id).where(Mailbox.local_part == "one"))
    assert web.submit(f"/mailboxes/{box_id}/delete", {}).status_code == 302
    # The row (and so the count) goes once the server has applied the delete: in-process here.
    db.session.expire_all()
    assert db.session.get(Mailbox, box_id) is None
    assert used("Acme")["mailboxes"] == 1 and used("Acme")["quota_mb"] == 20
    assert used("Resell")["mailboxes"] == 1


def test_a_refused_create_moves_no_counter(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    create(web, "one")
    again = web.submit("/mailboxes/new", {"local_part": "one", "domain_id": domain_id("acme.test"),
                                          "quota_mb": 10, **PW})
    assert again.status_code == 200 and "already" in again.get_data(as_text=True)
    assert used("Acme")["mailboxes"] == 1 and used("Acme")["quota_mb"] == 10


def test_dashboard_and_list_totals_come_from_the_counters(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    for name in ("a", "b", "c"):
        create(web, name)
    db.session.execute(sa.update(Mailbox).where(Mailbox.local_part == "c").values(status=Status.FAILED))
    db.session.commit()
    dashboard = web.get("/").get_data(as_text=True)
    assert re.search(r'id="mailbox-total">3<', dashboard)
    assert "Applied: 2" in dashboard and "Failed: 1" in dashboard
    # Two per page: three mailboxes make two pages, the total read from the counter.
    listing = web.get("/mailboxes/").get_data(as_text=True)
    assert "?page=2" in listing and "?page=3" not in listing
    # A counter that says 5 gives three pages: the list did not count the rows itself.
    db.session.execute(sa.update(Account).where(Account.name == "Acme").values(used_mailboxes=5))
    db.session.commit()
    assert "?page=3" in web.get("/mailboxes/").get_data(as_text=True)
    assert usage.drift(db.session) == [(db.session.scalar(sa.select(Account.id).where(Account.name == "Acme")),
                                        "mailboxes", 5, 3)]
    assert usage.recount(db.session) == 1
    db.session.commit()
    assert usage.drift(db.session) == []


def test_reseller_usage_column_reads_the_counters(web, make_account, local_server, app):
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    web.login("acme@owner.test")
    create(web, "one", quota=25)
    web.submit("/", {}, post_url="/logout")
    web.login("resell@owner.test")
    page = web.get("/reseller/accounts").get_data(as_text=True)
    assert "mailboxes: 1 / ∞" in page and "MB of mail quota: 25 / ∞" in page
