"""A reseller deletes a sub-account: its services leave the servers in order, the page shows the progress."""

import pwd

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Domain, Mailbox, Operation, SystemUser, WebApp, Website
from tests.integration.test_websites import make_app, upload, wait_http

MAIL_PW, SFTP_PW = "mail-password-1", "sftp-password-1"


def test_delete_a_sub_account_with_progress(web, make_account, mail_server, webstack, dovecot, sftpd, nginx, work):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    web.login("boss@resell.test")
    web.submit("/", {"account_id": bakery.id}, post_url="/reseller/switch")
    domain = db.session.scalar(sa.select(Domain.id))
    web.submit(
        "/mailboxes/new",
        {"local_part": "orders", "quota_mb": 10, "password": MAIL_PW, "confirm": MAIL_PW, "domain_id": domain},
    )
    web.submit("/system-users/new", {"name": "web", "password": SFTP_PW, "confirm": SFTP_PW, "shell": "sftp"})
    work()
    user = db.session.scalar(sa.select(SystemUser))
    user_name = user.name
    make_app(web, user, "site", kind="static")
    web.submit(
        "/websites/new",
        {
            "name": "Bakery",
            "domain_ids": [domain],
            "with_www": "y",
            "root_app": db.session.scalar(sa.select(WebApp.id)),
        },
    )
    work()
    upload(sftpd, user, "/webapps/site/index.html", "fresh bread", password=SFTP_PW)
    wait_http(nginx, "bakery.test", "/", 200, "fresh bread")
    assert dovecot.wait_login("orders@bakery.test", MAIL_PW)
    web.submit("/", {"account_id": 0}, post_url="/reseller/switch")

    confirm = web.get(f"/reseller/accounts/{bakery.id}/delete").get_data(as_text=True)
    assert "Delete everything" in confirm
    assert web.submit(f"/reseller/accounts/{bakery.id}/delete", {}).status_code == 302
    progress = web.get(f"/reseller/accounts/{bakery.id}/delete").get_data(as_text=True)
    assert "still to remove" in progress and 'http-equiv="refresh"' in progress
    kinds = [
        op.object_type
        for op in db.session.scalars(sa.select(Operation).where(Operation.action == "delete").order_by(Operation.id))
    ]
    assert kinds.index("Website") < kinds.index("WebApp") < kinds.index("SystemUser") < kinds.index("Mailbox")

    work()
    done = web.get(f"/reseller/accounts/{bakery.id}/delete").get_data(as_text=True)
    assert "Everything is removed." in done and "http-equiv" not in done
    for model in (Website, WebApp, SystemUser, Mailbox, Domain):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
    wait_http(nginx, "bakery.test", "/", 404)
    assert not dovecot.wait_login("orders@bakery.test", MAIL_PW, expect=False)
    assert "orders@bakery.test" not in dovecot.passwd_file.read_text()
    with pytest.raises(KeyError):
        pwd.getpwnam(user_name)
    gone = db.session.scalar(sa.select(Account).where(Account.id == bakery.id))
    assert gone.active is False and gone.deleting_at is not None
    assert "Bakery" not in web.get("/reseller/accounts").get_data(as_text=True)
    assert web.client.application.test_client().get("/").status_code == 302
