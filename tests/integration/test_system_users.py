"""System users through the forms and a real worker, checked by logging in over SFTP to a real sshd."""

import os
import pwd
from pathlib import Path

import paramiko
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Operation, Status, SystemUser
from tests.helpers import change_password, count, sftp

P1, P2 = "sftp-password-1", "sftp-password-2"


@pytest.fixture
def acme(web, make_account, web_server):
    make_account("Acme")
    web.login("acme@owner.test")
    return web_server


def create(web, name="web", password=P1, **extra):
    data = {"name": name, "password": password, "confirm": password, "shell": "sftp", **extra}
    return web.submit("/system-users/new", data)


def test_sftp_user_lifecycle(web, acme, sftpd, work, tmp_path):
    assert create(web).status_code == 302
    work()
    user = db.session.scalar(sa.select(SystemUser))
    assert user.status == Status.APPLIED, user.last_error
    assert user.name.startswith("acme") and user.name.endswith("_web")
    name, home = user.name, f"{acme.settings['web_home_root']}/{user.name}"

    session = sftp(sftpd, user.name, P1)
    assert session is not None
    with session.open("/webapps/index.html", "w") as handle:
        handle.write("<h1>hello</h1>")
    with pytest.raises(PermissionError):
        session.open("/outside.txt", "w")  # the chroot (its home) is not its to write
    assert sorted(session.listdir("/")) == [".ssh", "webapps"]
    session.close()
    uploaded = f"{home}/webapps/index.html"
    assert Path(uploaded).read_text() == "<h1>hello</h1>"
    assert os.stat(uploaded).st_uid == pwd.getpwnam(user.name).pw_uid

    page = f"/system-users/{user.id}"
    change_password(web, page, P2)
    work()
    assert sftp(sftpd, user.name, P2) is not None
    assert sftp(sftpd, user.name, P1) is None

    key = paramiko.Ed25519Key.from_private_key_file(str(sftpd.client_key_path))
    public = f"{key.get_name()} {key.get_base64()} laptop"
    web.submit(page, {"shell": "sftp", "ssh_keys": public}, post_url=f"{page}/settings")
    work()
    assert sftp(sftpd, user.name, pkey=key) is not None

    web.submit(f"{page}/delete", {})
    work()
    assert db.session.scalar(sa.select(SystemUser)) is None
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    assert not Path(home).exists()
    assert count(Operation, Operation.secret.is_not(None)) == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("root", "root is reserved"),
        ("postfix", "postfix is reserved"),
        ("www", "www is reserved"),
        ("a;b", "Use 1 to 16 letters"),
        ("a b", "Use 1 to 16 letters"),
        ("a\nb", "Line breaks and control characters are not allowed (U+000A)"),
        ("web\x85", "Line breaks and control characters are not allowed (U+0085)"),  # strip() would drop it
        ("9lives", "Use 1 to 16 letters"),
        ("Ünïcode", "Use 1 to 16 letters"),
        ("x" * 17, "16"),
    ],
)
def test_bad_names_are_refused(web, acme, queued, name, message):
    response = create(web, name)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(SystemUser) == 0
    assert queued() == 0


def test_login_shell_only_where_the_account_allows_it(web, acme, queued):
    response = create(web, shell="bash")
    assert "Your plan allows SFTP only." in response.get_data(as_text=True)


def test_bad_ssh_key_is_refused(web, acme):
    response = create(web, ssh_keys="ssh-ed25519 not-a-key")
    assert "Not an OpenSSH public key" in response.get_data(as_text=True)


def test_foreign_system_user_is_404(web, make_account, acme):
    other = make_account("Globex")
    db.session.add(SystemUser(account_id=other.id, name="globex9_web", status=Status.APPLIED))
    db.session.commit()
    theirs = db.session.scalar(sa.select(SystemUser.id))
    for url in (f"/system-users/{theirs}", f"/system-users/{theirs}/delete"):
        assert web.get(url).status_code == 404
    for url in (f"/system-users/{theirs}/password", f"/system-users/{theirs}/delete"):
        assert web.submit("/system-users/new", {"password": P1, "confirm": P1}, post_url=url).status_code == 404
    assert "globex9_web" not in web.get("/system-users/").get_data(as_text=True)
