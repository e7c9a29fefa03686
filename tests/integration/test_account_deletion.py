"""A reseller deletes a sub-account: its services leave the servers in order, the page shows the progress."""

import pwd

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Domain, Mailbox, Operation, SystemUser, WebApp, Website
from tests.helpers import count, wait_http


def test_delete_a_sub_account_with_progress(web, bakery, dovecot, nginx, work):
    account, user_name = bakery.account, bakery.user.name
    confirm = web.get(f"/reseller/accounts/{account.id}/delete").get_data(as_text=True)
    assert "Delete everything" in confirm
    assert web.submit(f"/reseller/accounts/{account.id}/delete", {}).status_code == 302
    progress = web.get(f"/reseller/accounts/{account.id}/delete").get_data(as_text=True)
    assert "still to remove" in progress and 'http-equiv="refresh"' in progress
    kinds = [
        op.object_type
        for op in db.session.scalars(sa.select(Operation).where(Operation.action == "delete").order_by(Operation.id))
    ]
    assert kinds.index("Website") < kinds.index("WebApp") < kinds.index("SystemUser") < kinds.index("Mailbox")

    work()
    done = web.get(f"/reseller/accounts/{account.id}/delete").get_data(as_text=True)
    assert "Everything is removed." in done and "http-equiv" not in done
    for model in (Website, WebApp, SystemUser, Mailbox, Domain):
        assert count(model) == 0, model.__name__
    wait_http(nginx, "bakery.test", "/", 404)
    assert not dovecot.wait_login("orders@bakery.test", bakery.mail_password, expect=False)
    assert "orders@bakery.test" not in dovecot.passwd_file.read_text()
    with pytest.raises(KeyError):
        pwd.getpwnam(user_name)
    gone = db.session.scalar(sa.select(Account).where(Account.id == account.id))
    assert gone.active is False and gone.deleting_at is not None
    assert "Bakery" not in web.get("/reseller/accounts").get_data(as_text=True)
    assert web.client.application.test_client().get("/").status_code == 302
