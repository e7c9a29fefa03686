"""A reseller suspends a sub-account: mail logins, SFTP and websites stop, portal logins stop, and
resuming brings back exactly what was there, passwords and mail included."""

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Domain, Status, SystemUser, WebApp
from tests.conftest import Web
from tests.integration.test_system_users import sftp
from tests.integration.test_websites import make_app, upload, wait_http

MAIL_PW, SFTP_PW = "mail-password-1", "sftp-password-1"


def test_suspend_and_resume(web, make_account, mail_server, webstack, dovecot, sftpd, nginx, work):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    web.login("boss@resell.test")
    web.submit("/", {"account_id": bakery.id}, post_url="/reseller/switch")  # set it up from inside
    web.submit(
        "/mailboxes/new",
        {
            "local_part": "orders",
            "quota_mb": 10,
            "password": MAIL_PW,
            "confirm": MAIL_PW,
            "domain_id": db.session.scalar(sa.select(Domain.id)),
        },
    )
    web.submit("/system-users/new", {"name": "web", "password": SFTP_PW, "confirm": SFTP_PW, "shell": "sftp"})
    work()
    user = db.session.scalar(sa.select(SystemUser))
    make_app(web, user, "site", kind="static")
    app = db.session.scalar(sa.select(WebApp))
    web.submit(
        "/websites/new",
        {
            "name": "Bakery",
            "domain_ids": [db.session.scalar(sa.select(Domain.id))],
            "with_www": "y",
            "root_app": app.id,
        },
    )
    work()
    session = sftp(sftpd, user.name, SFTP_PW)
    assert session is not None
    session.close()
    upload(sftpd, user, "/webapps/site/index.html", "fresh bread", password=SFTP_PW)
    wait_http(nginx, "bakery.test", "/", 200, "fresh bread")
    assert dovecot.wait_login("orders@bakery.test", MAIL_PW)
    mail_home = dovecot.mail_root / "bakery.test" / "orders"
    (mail_home / "kept-mail").write_text("a message")

    web.submit("/", {"account_id": 0}, post_url="/reseller/switch")
    assert web.submit("/reseller/accounts", {}, post_url=f"/reseller/accounts/{bakery.id}/suspend").status_code == 302
    work()
    assert not dovecot.wait_login("orders@bakery.test", MAIL_PW, expect=False)
    assert sftp(sftpd, user.name, SFTP_PW) is None
    wait_http(nginx, "bakery.test", "/", 403, "This website is suspended.")
    assert db.session.scalar(sa.select(Account.active).where(Account.id == bakery.id)) is False

    owner = web.client.application.test_client()
    refused = Web(owner).submit("/login", {"email": "owner@bakery.example.net", "password": "correct horse battery"})
    assert refused.status_code == 200 and "Wrong e-mail or password." in refused.get_data(as_text=True)

    web.submit("/reseller/accounts", {}, post_url=f"/reseller/accounts/{bakery.id}/resume")
    work()
    assert dovecot.wait_login("orders@bakery.test", MAIL_PW)  # the same password as before
    assert sftp(sftpd, user.name, SFTP_PW) is not None
    wait_http(nginx, "bakery.test", "/", 200, "fresh bread")
    assert (mail_home / "kept-mail").read_text() == "a message"
    assert all(s == Status.APPLIED for s in db.session.scalars(sa.select(SystemUser.status)))
    assert Web(owner).login("owner@bakery.example.net").status_code == 302
