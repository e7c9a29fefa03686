"""Admins manage servers on the server's page: address, login and settings, re-pinning the host key
(the old and new fingerprints shown, then a confirming POST), routes, removal; every change audited.
Staff read the list and get 403 on the server's pages; customers 404."""

import re
import subprocess

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, BackendLog, LogState, Operation, OpState, Role, Route, Server
from portal.services import servers as manage
from tests.helpers import count, mailbox, new_mailbox, page_text, ssh_server
from tests.testbed.plugin import need

ADMIN, STAFF = "admin@hostdeck.test", "staff@hostdeck.test"


@pytest.fixture
def people(make_account, make_staff):
    make_account("Acme", domains=("acme.test",))
    make_staff()
    make_staff(ADMIN, role=Role.ADMIN)


def new_key(tmp_path, name="new") -> tuple[str, str]:
    """A fresh ed25519 public key line, and its fingerprint as ssh-keygen -l prints it."""
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True)
    printed = subprocess.run(["ssh-keygen", "-l", "-f", f"{path}.pub"], capture_output=True, text=True, check=True)
    return (path.with_suffix(".pub").read_text().strip(), printed.stdout.split()[1])


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def server_named(name: str) -> Server | None:
    return db.session.scalar(sa.select(Server).where(Server.name == name))


def test_fingerprints_are_as_ssh_keygen_prints_them(tmp_path):
    need("ssh-keygen", "ssh-keygen (openssh-client)")
    line, printed = new_key(tmp_path)
    assert printed.startswith("SHA256:") and manage.fingerprint(line) == printed
    assert manage.fingerprint(None) == ""


def test_staff_read_the_list_only_admins_manage(web, people, mail_server):
    server = mail_server
    pages = [f"/staff/servers/{server.id}", f"/staff/servers/{server.id}/repin"]
    posts = [f"/staff/servers/{server.id}/{verb}" for verb in ("edit", "repin", "route", "unroute", "remove", "check")]
    web.login("acme@owner.test")
    token = web.token("/")
    for url in pages:
        assert web.get(url).status_code == 404
    for url in posts:
        assert web.client.post(url, data={"csrf_token": token}).status_code == 404
    web.logout()
    web.login(STAFF)
    listing = web.get("/staff/servers").get_data(as_text=True)
    assert "mail1" in listing and f'href="/staff/servers/{server.id}"' not in listing
    token = web.token("/staff/servers")
    for url in pages:
        assert web.get(url).status_code == 403
    for url in posts:
        assert web.client.post(url, data={"csrf_token": token, "backend": "dovecot"}).status_code == 403
    assert server_named("mail1").routes and not events("server.unroute")
    web.logout()
    web.login(ADMIN)
    assert f'href="/staff/servers/{server.id}"' in web.get("/staff/servers").get_data(as_text=True)
    page = web.get(f"/staff/servers/{server.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert manage.fingerprint(server.host_key) in text and server.host in text and "dovecot" in text
    assert "dovecot_passwd_file=" in text  # the settings, one a line


def test_an_admin_edits_address_login_and_settings(web, people, mail_server):
    server = mail_server
    old_port = server.port
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    settings = manage.settings_as_lines(server.settings).replace("dovecot_scheme=SHA512-CRYPT", "exec_timeout=7")
    form = {"host": "mail1.example.net", "port": "2222", "ssh_user": "deploy", "settings": settings}
    saved = web.submit(url, form, post_url=f"{url}/edit")
    assert saved.status_code == 302
    db.session.expire_all()
    server = server_named("mail1")
    assert (server.host, server.port, server.ssh_user) == ("mail1.example.net", 2222, "deploy")
    assert "dovecot_scheme" not in server.settings and server.settings["exec_timeout"] == 7
    [event] = events("server.edit")
    assert event.actor.email == ADMIN and event.object_name == "mail1"
    assert event.fields["port"] == f"{old_port} → 2222"
    assert event.fields["set"] == ["exec_timeout=7"] and event.fields["unset"] == ["dovecot_scheme"]
    assert "Server mail1 saved." in web.get(url).get_data(as_text=True)
    # Nothing changed: nothing audited.
    same = {**form, "settings": manage.settings_as_lines(server.settings)}
    assert web.submit(url, same, post_url=f"{url}/edit").status_code == 302
    assert len(events("server.edit")) == 1


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("port", "70000", "Number must be between 1 and 65535."),
        ("port", "twenty", "Type a whole number, in digits."),
        ("host", "mail1; reboot", "A host name or IP address has only letters"),
        ("ssh_user", "root user", "An SSH user name has only letters"),
        ("settings", "mail_root=/srv\nnot a setting", "Line 2 is not KEY=VALUE: not a setting"),
    ],
)
def test_bad_values_are_refused_in_words(web, people, mail_server, field, value, words):
    server = mail_server
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    form = {"host": server.host, "port": str(server.port), "ssh_user": server.ssh_user, "settings": "", field: value}
    page = web.submit(url, form, post_url=f"{url}/edit")
    assert page.status_code == 200 and words in page.get_data(as_text=True)
    db.session.expire_all()
    assert server_named("mail1").host == mail_server.host and not events("server.edit")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("dovecot_passwd_fil=/x", "dovecot_passwd_fil is not a server setting: did you mean dovecot_passwd_file?"),
        ("nginx_listen=80; include /etc/passwd", "nginx_listen must be a port"),
    ],
)
def test_a_settings_problem_is_shown_and_nothing_saved(web, people, mail_server, line, words):
    """What the declared list of settings refuses (models/server_settings.py) is said at the field."""
    server = mail_server
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    form = {"host": server.host, "port": str(server.port), "ssh_user": server.ssh_user}
    before = dict(server.settings)
    page = web.submit(url, {**form, "settings": line}, post_url=f"{url}/edit")
    assert page.status_code == 200 and words in page.get_data(as_text=True)
    db.session.expire_all()
    assert server_named("mail1").settings == before and not events("server.edit")


def test_repin_shows_both_fingerprints_then_pins_on_confirmation(web, people, mail_server, tmp_path, work):
    """A server whose pinned key is wrong fails to connect; re-pinned with ssh-keyscan's answer, it works."""
    need("ssh-keyscan", "ssh-keyscan (openssh-client)")
    stale, stale_print = new_key(tmp_path, "stale")
    server = mail_server
    real_print = manage.fingerprint(server.host_key)
    server.host_key = stale
    db.session.commit()
    web.login("acme@owner.test")
    new_mailbox(web, "info")
    work()
    assert db.session.scalar(sa.select(BackendLog.state).order_by(BackendLog.id.desc())) == LogState.ERROR
    web.logout()

    web.login(ADMIN)
    url = f"/staff/servers/{server.id}/repin"
    scan = subprocess.run(["ssh-keyscan", "-p", str(server.port), server.host], capture_output=True, text=True)
    asked = web.get(url, query_string={"host_key": scan.stdout})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and stale_print in text and real_print in text
    db.session.expire_all()
    assert server_named("mail1").host_key == stale  # a GET changes nothing
    carried = dict(re.findall(r'name="(new_key|seen_fingerprint)" type="hidden" value="([^"]*)"', text))
    assert carried["seen_fingerprint"] == stale_print and manage.fingerprint(carried["new_key"]) == real_print
    confirmed = web.client.post(url, data={"csrf_token": web.token("/staff/servers"), **carried})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert manage.fingerprint(server_named("mail1").host_key) == real_print
    [event] = events("server.repin")
    assert event.fields == {"old_fingerprint": stale_print, "new_fingerprint": real_print}
    assert event.actor.email == ADMIN
    assert "re-pinned" in web.get(f"/staff/servers/{server.id}").get_data(as_text=True)
    trail = web.get("/staff/events").get_data(as_text=True)
    assert f"Server mail1: host key re-pinned: old fingerprint {stale_print}, new fingerprint {real_print}" in trail

    # The connection works again with the key pinned now.
    log = db.session.scalar(sa.select(BackendLog).order_by(BackendLog.id.desc()))
    assert web.submit(f"/staff/logs/{log.id}", {}, post_url=f"/staff/logs/{log.id}/retry").status_code == 302
    work()
    assert mailbox("info@acme.test").status.value == "applied"


def test_repin_refusals_in_words(web, people, mail_server, tmp_path):
    need("ssh-keygen", "ssh-keygen (openssh-client)")
    server = mail_server
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}/repin"
    for pasted, words in (
        ("not a key at all", "No public host key could be read there"),
        ("ssh-ed25519 AAAA!!notbase64", "No public host key could be read there"),
        (server.host_key, "That is the key already pinned for mail1."),
    ):
        page = web.get(url, query_string={"host_key": pasted})
        assert page.status_code == 200 and words in page_text(page)
    # Someone re-pinned between the question and the answer: the answer is refused.
    line, _ = new_key(tmp_path)
    post = {"csrf_token": web.token("/staff/servers"), "new_key": line, "seen_fingerprint": "SHA256:something-else"}
    assert web.client.post(url, data=post).status_code == 302
    assert "changed while you were deciding" in web.get(f"/staff/servers/{server.id}").get_data(as_text=True)
    # No CSRF token: nothing changes.
    web.client.post(url, data={"new_key": line, "seen_fingerprint": manage.fingerprint(server.host_key)})
    db.session.expire_all()
    assert server_named("mail1").host_key == mail_server.host_key and not events("server.repin")


def test_routes_added_and_removed_refused_while_changes_wait(web, people, mail_server, work):
    server = mail_server
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    added = web.submit(url, {"backend": "postfix"}, post_url=f"{url}/route")
    assert added.status_code == 302
    db.session.expire_all()
    assert sorted(r.backend for r in server_named("mail1").routes) == ["dovecot", "postfix"]
    again = web.submit(url, {"backend": "postfix"}, post_url=f"{url}/route")
    assert again.status_code == 200 and "postfix already runs on mail1." in again.get_data(as_text=True)
    # A change waits for dovecot on mail1: its route stays until it is applied.
    web.logout()
    web.login("acme@owner.test")
    new_mailbox(web, "info")
    assert count(Operation, Operation.backend == "dovecot", Operation.state == OpState.PENDING) == 1
    web.logout()
    web.login(ADMIN)
    refused = web.submit(url, {"backend": "dovecot"}, post_url=f"{url}/unroute")
    assert refused.status_code == 302
    assert "1 change of dovecot is still waiting for mail1" in web.get(url).get_data(as_text=True)
    db.session.expire_all()
    assert count(Route, Route.backend == "dovecot") == 1
    work()  # applied (or failed: postfix has no settings on mail1); nothing waits now
    removed = web.submit(url, {"backend": "postfix"}, post_url=f"{url}/unroute")
    assert removed.status_code == 302
    assert count(Route, Route.backend == "postfix") == 0
    assert [e.fields for e in events("server.route")] == [{"backend": "postfix"}]
    assert [e.fields for e in events("server.unroute")] == [{"backend": "postfix"}]


def test_a_server_is_removed_only_once_nothing_is_routed_to_it(web, people, mail_server, work):
    server = mail_server
    pinned = manage.fingerprint(server.host_key)
    web.login("acme@owner.test")
    new_mailbox(web, "info")
    work()
    web.logout()
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    page = web.get(url).get_data(as_text=True)
    assert "mail1 still runs dovecot: remove that route first." in page and 'id="remove-server"' not in page
    assert web.submit(url, {}, post_url=f"{url}/remove").status_code == 302
    assert server_named("mail1") is not None
    assert web.submit(url, {"backend": "dovecot"}, post_url=f"{url}/unroute").status_code == 302
    assert "Its 1 backend log goes with it" in web.get(url).get_data(as_text=True)
    gone = web.submit(url, {}, post_url=f"{url}/remove")
    assert gone.status_code == 302 and gone.location.endswith("/staff/servers")
    assert "Server mail1 removed, with its 1 backend log." in web.get("/staff/servers").get_data(as_text=True)
    assert server_named("mail1") is None and count(BackendLog) == 0 and count(Operation) == 0
    [event] = events("server.remove")
    assert event.object_name == "mail1" and event.fields["logs"] == 1
    assert event.fields["fingerprint"] == pinned
    assert mailbox("info@acme.test") is not None  # the customer's objects stay
    db.session.rollback()
    assert web.get(url).status_code == 404


def test_remove_refused_while_changes_wait(app, people, sshd):
    server = ssh_server("spare", sshd)
    db.session.add(server)
    db.session.flush()
    db.session.add(Operation(server_id=server.id, backend="dovecot", object_type="Mailbox", object_id=1, action="save"))
    db.session.commit()
    assert manage.removal_problem(server) == "1 change is still waiting for spare or running there."


def test_the_check_button_says_what_the_server_has_and_lacks(web, people, mail_server, dovecot):
    """The server page's Check runs check_server() over the pinned key: all there, then the one thing missing."""
    server = mail_server
    web.login(ADMIN)
    url = f"/staff/servers/{server.id}"
    page = web.submit(url, {}, post_url=f"{url}/check")
    text = page_text(page)
    assert page.status_code == 200 and "Everything this server needs is there." in text
    assert f"the passwd-file {dovecot.passwd_file} exists" in text
    server.settings = {**server.settings, "dovecot_passwd_file": "/nonexistent/users"}
    db.session.commit()
    page = web.submit(url, {}, post_url=f"{url}/check")
    text = page_text(page)
    assert "1 of these is missing or broken." in text and "the passwd-file /nonexistent/users exists" in text
