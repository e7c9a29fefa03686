"""System user, PHP or static web app and website, through the forms and a real worker, served by real
nginx and PHP-FPM; files uploaded over SFTP."""

import json
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import BackendLog, Domain, LogState, Mount, Status, SystemUser, WebApp, Website
from portal.orchestration.backends.nginx import render
from portal.orchestration.script import UnsafeValue
from portal.services.webapps import php_timezones
from tests.helpers import (
    WEB_PASSWORD,
    count,
    domain_id,
    domain_named,
    new_system_user,
    new_web_app,
    new_website,
    sftp,
    upload,
    wait_http,
)


@pytest.fixture
def shop(web, make_account, webstack):
    make_account("Acme", domains=("shop.test", "files.test"))
    web.login("acme@owner.test")
    return webstack


def static_site(web, work, sftpd, nginx, domain: str, path: str, content: str) -> WebApp:
    """Website Files on domain, with the static app files at its root, serving content at path."""
    user = new_system_user(web, work)
    new_web_app(web, user, "files", kind="static")
    app = db.session.scalar(sa.select(WebApp))
    new_website(web, "Files", domain, app)
    work()
    upload(sftpd, user, f"/webapps/files{path}", content)
    wait_http(nginx, domain, path, 200, content)
    return app


def test_php_app_served_with_its_settings(web, shop, sftpd, nginx, work):
    user = new_system_user(web, work)
    assert new_web_app(web, user, "site", memory_limit="96M").status_code == 302
    app = db.session.scalar(sa.select(WebApp))
    assert new_website(web, "Shop", "shop.test", app).status_code == 302
    work()
    assert db.session.scalar(sa.select(Website.status)) == Status.APPLIED
    assert db.session.scalar(sa.select(WebApp.status)) == Status.APPLIED
    upload(sftpd, user, "/webapps/site/index.php", "<?php echo ini_get('memory_limit'), ' as ', get_current_user();")
    _status, body = wait_http(nginx, "shop.test", "/index.php", 200, "96M")
    assert body == f"96M as {user.name}"
    assert wait_http(nginx, "www.shop.test", "/", 200, "96M")[1] == f"96M as {user.name}"
    assert nginx.get("unknown.test", "/")[0] == 404


def test_static_app_and_deleting_a_site_leaves_the_others(web, shop, sftpd, nginx, work):
    user = new_system_user(web, work)
    new_web_app(web, user, "site")
    new_web_app(web, user, "files", kind="static")
    site_app, files_app = (db.session.scalar(sa.select(WebApp).where(WebApp.name == n)) for n in ("site", "files"))
    new_website(web, "Shop", "shop.test", site_app)
    new_website(web, "Files", "files.test", files_app, more="/docs site")
    work()
    upload(sftpd, user, "/webapps/files/hello.txt", "hello, static world")
    upload(sftpd, user, "/webapps/site/index.php", "<?php echo 'php here';")
    wait_http(nginx, "files.test", "/hello.txt", 200, "hello, static world")
    wait_http(nginx, "files.test", "/docs/index.php", 200, "php here")
    wait_http(nginx, "shop.test", "/index.php", 200, "php here")

    shop_id = db.session.scalar(sa.select(Website.id).where(Website.name == "Shop"))
    web.submit(f"/websites/{shop_id}/delete", {})
    work()
    wait_http(nginx, "shop.test", "/index.php", 404)
    assert nginx.get("files.test", "/hello.txt") == (200, "hello, static world")
    assert count(Website) == 1


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/webapps/new", {"name": "a;b"}, "Use letters a-z"),
        ("/webapps/new", {"name": "ok", "memory_limit": "96M;"}, "Write a size like 128M"),
        ("/webapps/new", {"name": "ok", "memory_limit": "96M\nphp_admin_value[x]=1"}, "At most 10 characters."),
        (
            "/webapps/new",
            {"name": "ok", "memory_limit": "96M\nx=1"},
            "Line breaks and control characters are not allowed",
        ),
        ("/webapps/new", {"name": "ok", "date_timezone": "UTC}"}, "Choose a timezone"),
        ("/webapps/new", {"name": "ok", "date_timezone": "localtime"}, "Choose a timezone"),  # the server's own
        ("/webapps/new", {"name": "ok", "date_timezone": "posix/Europe/Berlin"}, "Choose a timezone"),
        ("/webapps/new", {"name": "ok", "date_timezone": "../../../etc/passwd"}, "Choose a timezone"),
        ("/webapps/new", {"name": "ok", "max_execution_time": "$x"}, "Write whole seconds"),
        ("/webapps/new", {"name": "ok", "memory_limit": "9999G"}, "Choose between 16M and 2048M"),
    ],
)
def test_config_injection_in_app_forms_is_refused(web, shop, work, url, data, message):
    user = new_system_user(web, work)
    response = new_web_app(web, user, **{"name": "ok", **data})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(WebApp) == 0


NOT_A_PATH = "is not a path like / or /blog."
MOUNTS = {
    "/a;b site": NOT_A_PATH,
    "/a{ site": NOT_A_PATH,
    "/a} site": NOT_A_PATH,
    '/x"y site': NOT_A_PATH,
    "/$host site": NOT_A_PATH,
    "/a b site": "No web app called “b site”.",  # a path ends at the first space
    "relative site": NOT_A_PATH,
    "/../x site": NOT_A_PATH,
}


@pytest.mark.parametrize("more", MOUNTS)
def test_config_injection_in_paths_is_refused(web, shop, work, more):
    user = new_system_user(web, work)
    new_web_app(web, user, "site")
    app = db.session.scalar(sa.select(WebApp))
    response = new_website(web, "Shop", "shop.test", app, more=more)
    assert response.status_code == 200
    assert MOUNTS[more] in response.get_data(as_text=True)
    assert count(Website) == 0


def test_another_accounts_apps_and_sites_are_out_of_reach(web, make_account, shop, work):
    other = make_account("Globex", domains=("globex.test",))
    their_user = SystemUser(account_id=other.id, name="globex99_web", status=Status.APPLIED)
    their_app = WebApp(account_id=other.id, system_user=their_user, name="theirs", kind="static", options={})
    their_site = Website(
        account_id=other.id,
        name="Theirs",
        with_www=True,
        domains=[domain_named("globex.test")],
    )
    db.session.add_all([their_user, their_app, their_site])
    db.session.commit()
    for url in (
        f"/webapps/{their_app.id}",
        f"/webapps/{their_app.id}/delete",
        f"/websites/{their_site.id}",
        f"/websites/{their_site.id}/delete",
    ):
        assert web.get(url).status_code == 404
        assert web.submit("/webapps/new", {}, post_url=url).status_code == 404
    response = web.submit("/websites/new", {"name": "Steal", "domain_ids": [domain_id("globex.test")], "root_app": 0})
    assert response.status_code == 200 and count(Website) == 1
    assert "is not a valid choice" in response.get_data(as_text=True)
    user = new_system_user(web, work)
    assert new_web_app(web, user, "mine").status_code == 302
    response = web.submit(
        "/websites/new", {"name": "Mix", "domain_ids": [domain_id("shop.test")], "root_app": their_app.id}
    )
    assert response.status_code == 200  # not even offered
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert count(Website) == 1


# Values forced past the forms, straight into the backend.
NASTY = st.text(alphabet=st.sampled_from([*list("abc.-/_:@;{}$\"'\\ \n#"), "é"]), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NASTY, path=NASTY)
def test_rendered_configs_pass_nginx_or_are_refused(nginx, tmp_path, name, path):
    server = type(
        "S",
        (),
        {"setting": staticmethod(lambda k, d=None: {"nginx_listen": nginx.listen, "web_home_root": "/srv"}.get(k, d))},
    )()
    user = SystemUser(name="acme1_web")
    app = WebApp(system_user=user, name="site", kind="php", options={})
    site = Website(id=1, name="x", with_www=True, domains=[Domain(name=name)], mounts=[Mount(path=path, web_app=app)])
    try:
        text = render(server, site)
    except UnsafeValue:
        return
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    shutil.copy(nginx.conf_path, scratch / "nginx.conf")
    conf = (scratch / "nginx.conf").read_text().replace(str(nginx.sites_dir), str(scratch / "sites"))
    (scratch / "nginx.conf").write_text(conf)
    (scratch / "sites").mkdir(exist_ok=True)
    (scratch / "sites" / "x.conf").write_text(text)
    result = subprocess.run(["nginx", "-t", "-c", str(scratch / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, f"rendered config fails nginx -t:\n{text}\n{result.stderr}"


def test_a_config_nginx_refuses_is_rolled_back(web, shop, sftpd, nginx, work):
    """Forced in: a config that nginx -t refuses never reaches a reload. (A bad setting, such as a port out
    of range, never gets this far: the apply refuses it before building a script.)"""
    app = static_site(web, work, sftpd, nginx, "files.test", "/ok.txt", "still fine")
    broken = nginx.sites_dir / "broken.conf"  # something else in the sites folder that nginx -t refuses
    broken.write_text("server { no_such_directive on; }\n")
    try:
        site = db.session.scalar(sa.select(Website))
        web.submit("/websites/new", {"name": "Shop", "domain_ids": [domain_id("shop.test")], "root_app": app.id})
        work()
        entry = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id.desc())).first()
        assert entry.state == LogState.FAILURE and "nginx refused the new config" in entry.stderr
        assert not list(nginx.sites_dir.glob("*.hostdeck-*"))
        assert sorted(p.name for p in nginx.sites_dir.glob("hostdeck-site-*.conf")) == [f"hostdeck-site-{site.id}.conf"]
        assert nginx.get("files.test", "/ok.txt") == (200, "still fine")
    finally:
        broken.unlink()
    assert nginx.test_config()[0]


def test_editing_a_website_moves_it_and_domains_in_use_stay(web, shop, sftpd, nginx, work):
    app = static_site(web, work, sftpd, nginx, "shop.test", "/a.txt", "moved")
    page = web.get(f"/domains/{domain_id('shop.test')}/delete").get_data(as_text=True)
    assert "1 websites: Files" in page

    site_id = db.session.scalar(sa.select(Website.id))
    response = web.submit(
        f"/websites/{site_id}",
        {"name": "Files", "domain_ids": [domain_id("files.test")], "root_app": app.id, "more_mounts": "/also files"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    work()
    wait_http(nginx, "files.test", "/also/a.txt", 200, "moved")
    wait_http(nginx, "shop.test", "/a.txt", 404)
    assert [m.path for m in db.session.scalar(sa.select(Website)).mounts] == ["/", "/also"]


# What a PHP app sees of its temporary folders, and whether it can leave them (probe.php?other=<file>).
PROBE = """<?php
header('Content-Type: application/json');
session_start();
$_SESSION['seen'] = 1;
session_write_close();
$mine = tempnam(sys_get_temp_dir(), 'probe');
file_put_contents($mine, 'mine');
echo json_encode([
    'sys_temp_dir' => sys_get_temp_dir(),
    'upload_tmp_dir' => ini_get('upload_tmp_dir'),
    'session_save_path' => session_save_path(),
    'session_gc' => ini_get('session.gc_probability'),
    'tmpdir' => getenv('TMPDIR'),
    'timezone' => date_default_timezone_get(),
    'mine' => $mine,
    'session_file' => is_file(session_save_path() . '/sess_' . session_id()),
    'wrote_shared_tmp' => @file_put_contents('/tmp/hostdeck-probe-' . getmypid(), 'x') !== false,
    'read_other' => isset($_GET['other']) ? @file_get_contents($_GET['other']) : null,
]);
"""


def probe(nginx, host: str, other: str = "") -> dict:
    _status, body = wait_http(nginx, host, f"/probe.php?other={other}" if other else "/probe.php", 200, "{")
    return json.loads(body)


def test_each_php_app_has_its_own_temporary_upload_and_session_folders(web, shop, sftpd, nginx, work):
    users = [new_system_user(web, work, name) for name in ("web", "other")]
    new_web_app(web, users[0], "site", date_timezone="europe/berlin")
    new_web_app(web, users[1], "site")
    apps = db.session.scalars(sa.select(WebApp).order_by(WebApp.id)).all()
    assert apps[0].options["date.timezone"] == "Europe/Berlin"
    new_website(web, "Shop", "shop.test", apps[0])
    new_website(web, "Files", "files.test", apps[1])
    work()
    for user in users:
        upload(sftpd, user, "/webapps/site/probe.php", PROBE)
    homes = Path(shop.setting("web_home_root"))

    seen = probe(nginx, "shop.test")
    php = homes / users[0].name / "php" / "site"
    assert seen["sys_temp_dir"] == seen["tmpdir"] == f"{php}/tmp"
    assert seen["upload_tmp_dir"] == f"{php}/uploads" and seen["session_save_path"] == f"{php}/sessions"
    # Debian leaves old sessions to a cron job that sweeps only its own folder: PHP sweeps this one.
    assert int(seen["session_gc"]) > 0
    assert seen["timezone"] == "Europe/Berlin"
    assert seen["mine"].startswith(f"{php}/tmp/") and seen["session_file"] is True
    assert seen["wrote_shared_tmp"] is False  # /tmp is outside open_basedir
    for folder in ("tmp", "uploads", "sessions"):
        info = (php / folder).stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (pwd.getpwnam(users[0].name).pw_uid, 0o700)
    for parent in (php, php.parent):  # root's: the user cannot swap a folder for a symlink
        assert (parent.stat().st_uid, stat.S_IMODE(parent.stat().st_mode)) == (0, 0o755)

    # The other user's app reads neither the first app's temporary files nor its sessions.
    theirs = probe(nginx, "files.test", other=seen["mine"])
    assert theirs["sys_temp_dir"] == str(homes / users[1].name / "php" / "site" / "tmp")
    assert theirs["timezone"] == "UTC" and theirs["read_other"] is False
    assert probe(nginx, "files.test", other=seen["session_save_path"] + "/")["read_other"] is False


def test_a_symlink_in_place_of_an_app_folder_is_not_followed(web, shop, sftpd, work):
    """A user who puts a symlink where the app folder goes gets a plain folder; its target is untouched."""
    user = new_system_user(web, work)
    target = Path(shop.setting("web_home_root")) / "not-yours"
    target.mkdir(mode=0o755)
    session = sftp(sftpd, user.name, WEB_PASSWORD)
    session.symlink(str(target), "/webapps/site")
    session.close()
    new_web_app(web, user, "site")
    work()
    assert db.session.scalar(sa.select(WebApp.status)) == Status.APPLIED
    assert (target.stat().st_uid, stat.S_IMODE(target.stat().st_mode)) == (0, 0o755)
    folder = Path(shop.setting("web_home_root")) / user.name / "webapps" / "site"
    assert folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == pwd.getpwnam(user.name).pw_uid


def test_php_knows_every_timezone_the_form_offers():
    """Python's zoneinfo is the source; the real PHP here must accept each name, and each names a zone."""
    listed = subprocess.run(
        ["php", "-r", 'echo implode("\\n", DateTimeZone::listIdentifiers(DateTimeZone::ALL_WITH_BC));'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    offered = set(php_timezones().values())
    assert "Europe/Berlin" in offered and "US/Eastern" in offered  # zones and the old names linked to them
    assert offered <= set(listed), sorted(offered - set(listed))
    assert not offered & {"localtime", "Factory", "leapseconds", "tzdata.zi", "posixrules"}
