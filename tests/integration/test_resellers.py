"""A reseller's sub-accounts: created with a one-time set-password link, limited within the reseller's own
plan, and worked on through the same pages by acting inside them."""

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, AuditEvent, Mailbox, Operation
from tests.helpers import PASSWORD, account_named, domain_named, new_mailbox, user_named

LINK = re.compile(r'id="set-password-link">([^<]+)<')


@pytest.fixture
def app_config():
    return {}


@pytest.fixture
def reseller(web, make_account, mailhost):
    account = make_account("Resell", kind="reseller", email="boss@resell.test", domains=("own-domain.test",))
    web.login("boss@resell.test")
    return account


def new_sub_account(web, name="Bakery", email="owner@bakery.example.net"):
    response = web.submit(
        "/reseller/accounts", {"name": name, "owner_email": email, "emergency_email": "help@contact.example.org"}
    )
    assert response.status_code == 200, response.status_code
    found = LINK.search(response.get_data(as_text=True))
    assert found, "no set-password link shown"
    return found.group(1).replace("http://localhost", "")


def test_sub_account_owner_sets_the_password_through_a_one_time_link(web, reseller):
    link = new_sub_account(web)
    bakery = account_named("Bakery")
    assert bakery.parent_id == reseller.id
    web.logout()
    assert web.get(link).status_code == 200
    assert web.submit(link, {"password": "oven-crust-meadow-31", "confirm": "oven-crust-meadow-31"}).status_code == 302
    web.login("owner@bakery.example.net", "oven-crust-meadow-31")
    web.logout()
    used = web.get(link)
    assert used.status_code == 404 and "already used or has expired" in used.get_data(as_text=True)
    assert web.get(link[:-3] + "abc").status_code == 404


def test_the_reseller_never_knows_the_password(web, reseller):
    new_sub_account(web)
    owner = user_named("owner@bakery.example.net")
    web.logout()
    response = web.submit("/login", {"email": "owner@bakery.example.net", "password": PASSWORD})
    assert response.status_code == 200 and owner.last_login_at is None


def test_limits_stay_within_the_resellers_own(web, reseller, app):
    app.test_cli_runner().invoke(args=["plans", "limit", "Resell", "--mailboxes", "10"])
    new_sub_account(web)
    bakery = db.session.scalar(sa.select(Account.id).where(Account.name == "Bakery"))
    over = web.submit(f"/reseller/accounts/{bakery}/limits", {"mailboxes": "11"})
    assert "Your own plan allows 10 mailboxes" in over.get_data(as_text=True)
    ok = web.submit(f"/reseller/accounts/{bakery}/limits", {"mailboxes": "3", "domains": "2"})
    assert ok.status_code == 302
    assert db.session.scalar(sa.select(Account.max_mailboxes).where(Account.id == bakery)) == 3
    listing = web.get("/reseller/accounts").get_data(as_text=True)
    assert "mailboxes: 0 / 3" in listing


def test_acting_inside_a_sub_account(web, reseller):
    new_sub_account(web)
    bakery = account_named("Bakery")
    web.submit("/reseller/accounts", {"account_id": bakery.id}, post_url="/reseller/switch")
    assert "You are acting inside <strong>Bakery</strong>" in web.get("/").get_data(as_text=True)
    assert "own-domain.test" not in web.get("/domains/").get_data(as_text=True)  # only the sub-account's things

    assert web.submit("/domains/", {"name": "bakery.test"}).status_code == 302
    assert domain_named("bakery.test").account_id == bakery.id
    assert new_mailbox(web, "orders", domain="bakery.test").status_code == 302
    box = db.session.scalar(sa.select(Mailbox))
    assert box.account_id == bakery.id
    boss = user_named("boss@resell.test").id
    ops = db.session.scalars(sa.select(Operation).where(Operation.object_type == "Mailbox")).all()
    assert ops and all(op.actor_id == boss and op.account_id == bakery.id for op in ops)  # by whom, for whom
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [(e.action, e.actor_id, e.account_id) for e in events]
    assert ("account.act_inside", boss, bakery.id) in actions
    assert ("mailbox.save", boss, bakery.id) in actions
    saved = next(e for e in events if e.action == "mailbox.save")
    assert saved.fields == {"password_changed": True} and saved.ip == "127.0.0.1"

    web.submit("/", {"account_id": 0}, post_url="/reseller/switch")
    page = web.get("/domains/").get_data(as_text=True)
    assert "own-domain.test" in page and "acting inside" not in page


def test_no_switching_into_someone_elses_account(web, make_account, reseller):
    other = make_account("Stranger")
    assert web.submit("/", {"account_id": other.id}, post_url="/reseller/switch").status_code == 404
    assert web.submit("/", {"account_id": reseller.id}, post_url="/reseller/switch").status_code == 404
    web.logout()
    web.login("stranger@owner.test")
    assert web.submit("/", {"account_id": other.id}, post_url="/reseller/switch").status_code == 404
    assert web.get("/reseller/accounts").status_code == 404
