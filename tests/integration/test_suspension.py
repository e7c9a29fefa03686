"""A reseller suspends a sub-account: mail logins, SFTP and websites stop, portal logins stop, and
resuming brings back exactly what was there, passwords and mail included."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Status, SystemUser
from tests.helpers import PASSWORD, Web, sftp, wait_http


def test_suspend_and_resume(web, bakery, dovecot, sftpd, nginx, work):
    account, user = bakery.account, bakery.user
    session = sftp(sftpd, user.name, bakery.sftp_password)
    assert session is not None
    session.close()
    mail_home = dovecot.mail_root / "bakery.test" / "orders"
    (mail_home / "kept-mail").write_text("a message")

    assert web.submit("/reseller/accounts", {}, post_url=f"/reseller/accounts/{account.id}/suspend").status_code == 302
    work()
    assert not dovecot.wait_login("orders@bakery.test", bakery.mail_password, expect=False)
    assert sftp(sftpd, user.name, bakery.sftp_password) is None
    wait_http(nginx, "bakery.test", "/", 403, "This website is suspended.")
    assert db.session.scalar(sa.select(Account.active).where(Account.id == account.id)) is False

    owner = Web(web.client.application.test_client())
    refused = owner.submit("/login", {"email": "owner@bakery.example.net", "password": PASSWORD})
    # The right password: told it is suspended, and whom to ask (test_password_reset.py has the wrong one).
    assert refused.status_code == 200 and "suspended. Contact Resell" in refused.get_data(as_text=True)

    web.submit("/reseller/accounts", {}, post_url=f"/reseller/accounts/{account.id}/resume")
    work()
    assert dovecot.wait_login("orders@bakery.test", bakery.mail_password)  # the same password as before
    assert sftp(sftpd, user.name, bakery.sftp_password) is not None
    wait_http(nginx, "bakery.test", "/", 200, "fresh bread")
    assert (mail_home / "kept-mail").read_text() == "a message"
    assert all(s == Status.APPLIED for s in db.session.scalars(sa.select(SystemUser.status)))
    assert owner.login("owner@bakery.example.net").status_code == 302
