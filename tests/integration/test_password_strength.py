"""Every form that sets a new password refuses a weak one at the password field, in words, and changes
nothing: the login password (account page, set-password link, the CLI) and the service passwords
(mailboxes, system users, database users). A strong one goes through."""

import json
import re
from html import unescape

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DatabaseUser, Mailbox, Operation, SystemUser, User
from portal.security.passwords import check_password
from portal.services import password_links
from portal.services.resellers import create_sub_account
from tests.helpers import (
    PASSWORD,
    add_server,
    change_password,
    count,
    customer_actor,
    local_mail_server,
    mailbox,
    new_mailbox,
    user_named,
)

WEAK = "password123"
COMMON = "This password is one of the most common ones."
STRONG = "violet-harbor-quartz-91"
OTHER_STRONG = "amber-lantern-ocean-47"
LABELS = re.compile(r'data-password-labels="([^"]*)"')


def refused(response, reason: str = COMMON) -> bool:
    """The form came back with the reason at a field (Bootstrap's invalid-feedback)."""
    text = unescape(response.get_data(as_text=True))
    return response.status_code in (200, 400) and "invalid-feedback" in text and reason in text


@pytest.fixture
def acme(web, make_account, tmp_path):
    """Customer Acme logged in; one local server takes mail, system users and databases. No worker runs:
    what is recorded stays in the outbox."""
    make_account("Acme", domains=("acme.test",))
    add_server(local_mail_server("stub1", tmp_path), "dovecot", "unix", "mariadb", "postgresql")
    web.login("acme@owner.test")


def operations() -> int:
    return count(Operation)


# The pages


def test_every_new_password_field_gets_the_meter_script_and_its_words(web, acme):
    new_mailbox(web, "alice", password=STRONG)
    new_system_user(web, "site", STRONG)
    new_db_user(web, "shop", STRONG)
    pages = [
        "/mailboxes/new",
        f"/mailboxes/{mailbox('alice@acme.test').id}",
        "/system-users/new",
        f"/system-users/{db.session.scalar(sa.select(SystemUser.id))}",
        "/databases/users/new",
        f"/databases/users/{db.session.scalar(sa.select(DatabaseUser.id))}",
        "/account/",
    ]
    for page in pages:
        html = web.get(page).get_data(as_text=True)
        assert 'data-password="new"' in html and 'data-password="confirm"' in html, page
        assert 'autocomplete="new-password"' in html, page
        assert "js/password.js" in html, page
        labels = json.loads(unescape(LABELS.search(html).group(1)))
        assert labels["show"] == "Show" and labels["generate"] == "Generate", page
        assert len(labels["levels"]) == 5, page


# Mailboxes


def test_a_new_mailbox_with_a_weak_password_is_refused_and_not_made(web, acme):
    assert refused(new_mailbox(web, "alice", password=WEAK))
    assert count(Mailbox) == 0 and operations() == 0

    named = new_mailbox(web, "alice", password="Alice-violet-harbor-91")
    assert refused(named, 'This password contains "alice", a name from this account: it is easy to guess.')
    assert count(Mailbox) == 0 and operations() == 0

    assert new_mailbox(web, "alice", password=STRONG).status_code == 302
    assert count(Mailbox) == 1 and operations() == 1


def test_a_mailbox_password_change_to_a_weak_one_is_refused(web, acme):
    new_mailbox(web, "alice", password=STRONG)
    page, before = f"/mailboxes/{mailbox('alice@acme.test').id}", operations()

    assert refused(change_password(web, page, WEAK))
    assert refused(change_password(web, page, "aaaaaaaaaa"), 'Repeats like "aaa" are easy to guess.')
    assert operations() == before

    assert change_password(web, page, OTHER_STRONG).status_code == 302
    assert operations() == before + 1


# System users


def new_system_user(web, name: str, password: str):
    return web.submit("/system-users/new", {"name": name, "password": password, "confirm": password, "shell": "sftp"})


def test_a_system_user_with_a_weak_password_is_refused(web, acme):
    assert refused(new_system_user(web, "site", WEAK))
    assert refused(new_system_user(web, "site", "my-site-lantern-47"), '"site", a name from this account')
    assert count(SystemUser) == 0 and operations() == 0

    assert new_system_user(web, "site", STRONG).status_code == 302
    page, before = f"/system-users/{db.session.scalar(sa.select(SystemUser.id))}", operations()
    assert refused(change_password(web, page, WEAK))
    assert operations() == before


# Database users


def new_db_user(web, name: str, password: str):
    return web.submit(
        "/databases/users/new",
        {"engine": "mariadb", "name": name, "password": password, "confirm": password, "databases": []},
    )


def test_a_database_user_with_a_weak_password_is_refused(web, acme):
    assert refused(new_db_user(web, "shop", WEAK))
    assert refused(new_db_user(web, "shop", "qwertyuiop"))
    assert count(DatabaseUser) == 0 and operations() == 0

    assert new_db_user(web, "shop", STRONG).status_code == 302
    page, before = f"/databases/users/{db.session.scalar(sa.select(DatabaseUser.id))}", operations()
    assert refused(change_password(web, page, WEAK))
    assert operations() == before


# The login password


def change_login_password(web, new: str, current: str = PASSWORD):
    return web.submit("/account/", {"current": current, "password": new, "confirm": new}, post_url="/account/password")


def test_a_weak_new_login_password_is_refused(web, acme):
    before = user_named("acme@owner.test").password_hash

    assert refused(change_login_password(web, WEAK))
    assert refused(change_login_password(web, "Acme-violet-harbor-91"), '"acme", a name from this account')
    assert refused(change_login_password(web, PASSWORD), "Choose a password different from your current one.")
    assert user_named("acme@owner.test").password_hash == before

    assert change_login_password(web, STRONG).status_code == 302
    assert check_password(STRONG, user_named("acme@owner.test").password_hash)[0]


def test_the_set_password_link_refuses_a_weak_password(web, make_account):
    make_account("Resell", kind="reseller", email="boss@resell.test")
    _, token = create_sub_account(
        customer_actor("boss@resell.test"),
        name="Flower Shop",
        owner_email="flora@flowers.example.net",
        emergency_email="help@contact.example.org",
    )
    db.session.commit()
    link, before = f"/set-password/{token}", user_named("flora@flowers.example.net").password_hash

    def set_it(password: str):
        return web.submit(link, {"password": password, "confirm": password})

    assert refused(set_it(WEAK))
    assert refused(set_it("flora-violet-harbor-91"), '"flora", a name from this account')
    assert refused(set_it("my-flower-garden-77"), '"flower", a name from this account')
    assert user_named("flora@flowers.example.net").password_hash == before

    page = web.get(link).get_data(as_text=True)
    assert 'data-password="new"' in page and "js/password.js" in page
    assert set_it(STRONG).status_code == 302  # the link still works: nothing was set
    assert check_password(STRONG, user_named("flora@flowers.example.net").password_hash)[0]


def test_the_reset_link_refuses_a_weak_password(web, make_account):
    make_account("Acme", domains=("acme.test",))
    user = user_named("acme@owner.test")
    before = user.password_hash
    assert web.get(f"{password_links.LINK_PATH}{password_links.make_token(user)}").status_code == 302

    def reset(password: str):
        return web.submit("/reset-password", {"password": password, "confirm": password})

    assert refused(reset(WEAK))
    assert refused(reset("Acme-violet-harbor-91"), '"acme", a name from this account')
    assert user_named("acme@owner.test").password_hash == before

    page = web.get("/reset-password").get_data(as_text=True)
    assert 'data-password="new"' in page and "js/password.js" in page
    assert reset(STRONG).status_code == 302
    assert check_password(STRONG, user_named("acme@owner.test").password_hash)[0]


# The operator's commands


@pytest.mark.parametrize(
    "args",
    [
        ["users", "create-admin", "operator@example.com"],
        ["users", "create-staff", "operator@example.com"],
        ["accounts", "create", "Bluebird", "--owner", "operator@example.com"],
    ],
)
def test_the_commands_refuse_a_weak_password_and_exit_non_zero(app, args):
    runner = app.test_cli_runner()
    result = runner.invoke(args=[*args, "--password", WEAK])
    assert result.exit_code != 0
    assert COMMON in result.output
    named = runner.invoke(args=[*args, "--password", "Operator-violet-harbor-91"])
    assert named.exit_code != 0
    assert '"operator", a name from this account' in named.output
    assert count(User) == 0

    assert runner.invoke(args=[*args, "--password", STRONG]).exit_code == 0
    assert count(User) == 1
