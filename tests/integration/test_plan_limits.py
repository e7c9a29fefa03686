"""Limits: a clear refusal at the limit, resellers' caps over their sub-accounts, plans, and no way past
a limit by creating two things at once (row locks on PostgreSQL)."""

import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Mailbox, Operation, User
from portal.security.scoping import Actor
from portal.services import ServiceError
from portal.services.mailboxes import create_mailbox
from tests.helpers import account_named, count, domain_id, new_mailbox


@pytest.fixture
def app_config():
    return {}


def test_limit_refuses_with_a_clear_message(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    limit = app.test_cli_runner().invoke(args=["plans", "limit", "Acme", "--mailboxes", "1", "--quota-mb", "100"])
    assert limit.exit_code == 0, limit.output
    web.login("acme@owner.test")
    assert new_mailbox(web, "one").status_code == 302
    refused = new_mailbox(web, "two").get_data(as_text=True)
    assert "Your plan allows 1 mailbox and 1 is in use." in refused  # one, in the singular
    assert "ask us for a bigger plan" in refused
    assert count(Mailbox) == 1 and count(Operation) == 1


def test_quota_limit(web, make_account, local_server, app):
    make_account("Acme", domains=("acme.test",))
    limit = app.test_cli_runner().invoke(args=["plans", "limit", "Acme", "--quota-mb", "100"])
    assert limit.exit_code == 0, limit.output
    web.login("acme@owner.test")
    assert new_mailbox(web, "big", quota=80).status_code == 302
    assert "allows 100 MB of mail quota and 80 are in use" in new_mailbox(web, "more", quota=30).get_data(as_text=True)
    assert new_mailbox(web, "small", quota=20).status_code == 302


def test_reseller_caps_the_sum_of_its_sub_accounts(web, make_account, local_server, app):
    reseller = make_account("Resell", kind="reseller")
    make_account("Acme", parent=reseller, domains=("acme.test",))
    make_account("Other", parent=reseller, domains=("other.test",))
    result = app.test_cli_runner().invoke(args=["plans", "create", "small", "--mailboxes", "2"])
    assert result.exit_code == 0, result.output
    assert app.test_cli_runner().invoke(args=["plans", "apply", "small", "Resell"]).exit_code == 0
    assert db.session.scalar(sa.select(Account.max_mailboxes).where(Account.name == "Resell")) == 2
    web.login("other@owner.test")
    new_mailbox(web, "o1", domain="other.test")
    web.logout()
    web.login("acme@owner.test")
    assert new_mailbox(web, "a1").status_code == 302
    refused = new_mailbox(web, "a2").get_data(as_text=True)
    assert "Your reseller&#39;s plan allows 2 mailboxes and 2 are in use." in refused
    assert "ask your reseller for a bigger plan" in refused


def test_two_creates_at_once_cannot_pass_the_limit(app, make_account, local_server, row_locks):
    make_account("Acme", domains=("acme.test",))
    acme = account_named("Acme")
    acme.max_mailboxes = 1
    db.session.commit()
    user_id, domain = db.session.scalar(sa.select(User.id).where(User.account_id == acme.id)), domain_id("acme.test")
    start, results = threading.Barrier(2), []

    def attempt(name):
        with app.app_context():  # each thread: its own session and connection, like two requests
            actor = Actor(user=db.session.get(User, user_id))
            start.wait()
            try:
                create_mailbox(actor, local_part=name, domain_id=domain, password="pw-Cobalt-meadow-58", quota_mb=10)
                db.session.commit()
                results.append("created")
            except ServiceError:
                db.session.rollback()
                results.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["created", "refused"]
    db.session.expire_all()
    assert count(Mailbox) == 1
