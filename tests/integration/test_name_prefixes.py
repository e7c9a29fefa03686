"""Names never leak across tenants: every account's prefix is its own, and a refusal about a name
only ever speaks of the tenant's own objects; another tenant's get one neutral sentence."""

import re

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import Account, AccountKind, Database, Engine, Status, SystemUser, User
from portal.models.accounts import name_prefix
from portal.security.passwords import hash_password
from portal.services import ServiceError
from portal.services.databases import create_database
from portal.services.system_users import create_system_user
from tests.helpers import PASSWORD, customer_actor, page_text, scratch_database

PREVIOUS = "c4d2e8a1f016"  # the revision before the stored prefix


def account(name: str, account_id: int) -> Account:
    """An account with the id the issue gives, and its owner's login."""
    made = Account(id=account_id, name=name)
    owner = User(email=f"{name.lower()}@owner.test", password_hash=hash_password(PASSWORD), account=made)
    db.session.add_all([made, owner])
    db.session.commit()
    return made


def test_names_that_used_to_collide_get_different_prefixes(app, web_server):
    first, second = account("Abcdefg1", 6), account("Abcdefg", 16)
    assert (first.assigned_prefix(), second.assigned_prefix()) == ("abcdefg6", "abcdefg16")
    db.session.commit()
    one = create_system_user(customer_actor("abcdefg1@owner.test"), name="web", password="pw-Granite-orbit-73")
    two = create_system_user(customer_actor("abcdefg@owner.test"), name="web", password="pw-Granite-orbit-73")
    assert one.name != two.name


@pytest.mark.parametrize(
    ("name", "account_id", "expected"),
    [("Acme GmbH", 12, "acmegmbh12"), ("web2", 5, "web5"), ("123", 4, "acct4"), ("Ünïcode Ltd", 7, "ncodeltd7")],
)
def test_a_prefix_is_the_letters_of_the_name_then_the_id(name, account_id, expected):
    assert name_prefix(name, account_id) == expected


def test_the_prefix_is_stored_and_unique(app, make_account):
    acme = make_account("Acme")
    stored = acme.assigned_prefix()
    db.session.commit()
    assert db.session.scalar(sa.select(Account.prefix).where(Account.id == acme.id)) == stored
    other = make_account("Other")
    other.prefix = stored
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_system_user_name_of_ones_own_is_named_another_tenants_is_not(app, make_account):
    mine, theirs = make_account("Acme"), make_account("Globex")
    # A name from before prefixes were unique: another tenant's user under our prefix.
    db.session.add(SystemUser(account_id=theirs.id, name=f"{mine.assigned_prefix()}_shop", status=Status.APPLIED))
    db.session.add(SystemUser(account_id=mine.id, name=f"{mine.assigned_prefix()}_web", status=Status.APPLIED))
    db.session.commit()
    actor = customer_actor()
    with pytest.raises(ServiceError, match=rf"^You already have {mine.prefix}_web\.$"):
        create_system_user(actor, name="web", password="pw-Granite-orbit-73")
    with pytest.raises(ServiceError) as refused:
        create_system_user(actor, name="shop", password="pw-Granite-orbit-73")
    assert str(refused.value) == f"{mine.prefix}_shop is not available; choose another name."
    assert "Globex" not in str(refused.value)


def test_a_database_name_of_another_tenant_is_not_named(app, make_account):
    mine, theirs = make_account("Acme"), make_account("Globex")
    db.session.add(
        Database(account_id=theirs.id, engine=Engine.MARIADB, name=f"{mine.assigned_prefix()}_shop", status="applied")
    )
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        create_database(customer_actor(), engine="mariadb", name="shop")
    assert str(refused.value) == f"{mine.prefix}_shop is not available; choose another name."


@pytest.fixture
def resellers(web, make_account):
    one = make_account("Resell", kind="reseller", email="boss@resell.test")
    two = make_account("Other Resell", kind="reseller", email="boss@other.test")
    make_account("Bakery", parent=one, email="owner@bakery.example.net")
    make_account("Secret Client", parent=two, email="owner@secret.example.net")
    web.login("boss@resell.test")
    return one, two


def sub_account(web, name: str, email: str) -> str:
    return page_text(
        web.submit(
            "/reseller/accounts", {"name": name, "owner_email": email, "emergency_email": "help@contact.example.org"}
        )
    )


def test_a_reseller_learns_nothing_of_another_resellers_accounts(web, resellers):
    assert "You already have an account named Bakery." in sub_account(web, "Bakery", "new@bakery.example.net")
    # Names are unique within a reseller's tree only, so another reseller's name is no refusal at all.
    theirs = sub_account(web, "Secret Client", "new@client.example.net")
    assert "not available" not in theirs and "already" not in theirs and "Other Resell" not in theirs
    one, two = resellers
    named = db.session.scalars(sa.select(Account).where(Account.name == "Secret Client")).all()
    assert sorted(a.parent_id for a in named) == sorted([one.id, two.id])


def test_a_reseller_learns_nothing_of_another_resellers_logins(web, resellers):
    mine = sub_account(web, "New One", "owner@bakery.example.net")
    assert "owner@bakery.example.net already logs in to Bakery." in mine
    theirs = sub_account(web, "New Two", "owner@secret.example.net")
    assert "owner@secret.example.net is not available; choose another." in theirs
    assert "Secret Client" not in theirs and "already" not in theirs


def test_changing_ones_login_email_says_nothing_of_whose_it_is(web, make_account):
    make_account("Acme")
    make_account("Globex", email="globex@example.net")
    web.login("acme@owner.test")
    taken = page_text(
        web.submit("/account/", {"email": "globex@example.net", "current": PASSWORD}, post_url="/account/email")
    )
    assert "globex@example.net is not available; choose another." in taken
    assert "Another login" not in taken and "Globex<" not in taken


# The migration that stored the prefixes


@pytest.fixture
def old_schema(database_url):
    """A database of its own, migrated to the revision before the stored prefix."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the migration test makes a PostgreSQL database")
    with scratch_database(database_url, "hostdeck_prefix") as url:
        app = create_app({"DATABASE_URL": url, "TESTING": True})
        with app.app_context():
            upgrade(revision=PREVIOUS)
            yield app
            db.session.remove()
            db.engine.dispose()


def test_the_migration_keeps_each_prefix_in_use_unless_it_is_shared(old_schema):
    accounts = {
        3: "Acme",  # acme3, as before
        5: "web2",  # web25: what "Web" with id 25 will get, so it moves to web5
        6: "Abcdefg1",  # abcdefg16, shared with id 16: both move
        9: "1st Choice",  # a1stchoi9: no new-style prefix looks like it, so it stays
        16: "Abcdefg",
    }
    columns = "id, name, kind, active, allow_login_shell, deletion_total, created_at, updated_at"
    for account_id, name in accounts.items():
        db.session.execute(
            sa.text(f"INSERT INTO account ({columns}) VALUES (:id, :name, :kind, true, false, 0, now(), now())"),
            {"id": account_id, "name": name, "kind": AccountKind.CUSTOMER.value},
        )
    db.session.commit()
    upgrade(revision="d7a3b9c2e017")
    found = dict(db.session.execute(sa.text("SELECT id, prefix FROM account")).all())
    assert found == {3: "acme3", 5: "web5", 6: "abcdefg6", 9: "a1stchoi9", 16: "abcdefg16"}
    assert all(re.fullmatch(r"[a-z][a-z0-9]{0,14}", p) for p in found.values())
