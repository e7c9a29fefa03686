"""The web and mail backends on an operator's install: config folders away from /etc, as real nginx,
PHP-FPM and Postfix see them. A change that went well is SUCCESS, not a WARNING for the notices a
service prints on every reload; a real warning still is one."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Route, Status, WebApp, Website
from tests.helpers import (
    backend_logs,
    count,
    new_mailbox,
    new_system_user,
    new_web_app,
    new_website,
    upload,
    wait_http,
)
from tests.testbed.nginx import Nginx
from tests.testbed.phpfpm import PhpFpm
from tests.testbed.plugin import running, shared_root
from tests.testbed.ports import free_port
from tests.testbed.postfix import POSTFIX, Postfix

MAIL_PASSWORD = "mail-password-1"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"


def last_log() -> BackendLog:
    return db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id.desc())).first()


def assert_all_success() -> None:
    """Every script so far went through, and said nothing on stderr."""
    logs = backend_logs()
    assert logs
    assert [(e.state, e.stderr) for e in logs] == [(LogState.SUCCESS, "")] * len(logs), [
        (e.id, e.state, e.stderr) for e in logs
    ]


@pytest.fixture
def operator_nginx(request):
    """nginx whose config lives in a folder of the operator's, with no fastcgi_params or snippets beside it."""
    with shared_root(request, "opnginx") as root, running(Nginx(root / "srv" / "nginx", snippets=False)) as server:
        yield server


@pytest.fixture
def operator_phpfpm(request):
    """PHP-FPM with its pools in a folder of the operator's, holding its one stock pool (www.conf)."""
    with shared_root(request, "opfpm") as root:
        server = PhpFpm(root, pools_dir=root / "conf" / "pools.d", stock_pool=True)
        with running(server):
            yield server


def web_settings(server, nginx=None, phpfpm=None) -> None:
    settings = dict(server.settings)
    if nginx is not None:
        settings |= {
            "nginx_sites_dir": str(nginx.sites_dir),
            "nginx_config": str(nginx.conf_path),
            "nginx_listen": nginx.listen,
            "nginx_listen_https": f"127.0.0.1:{free_port()}",
            "nginx_ssl_dir": str(nginx.root / "ssl"),
        }
        db.session.add(Route(backend="nginx", server=server))
    if phpfpm is not None:
        settings |= {
            "phpfpm_pools_dir": str(phpfpm.pools_dir),
            "phpfpm_socket_dir": str(phpfpm.root / "run"),
            "phpfpm_binary": str(phpfpm.binary),
            "phpfpm_config": str(phpfpm.conf_path),
            "phpfpm_pid_file": str(phpfpm.pid_path),
            "php_versions": ["8.2"],
        }
        (phpfpm.root / "run").mkdir(exist_ok=True)
        (phpfpm.root / "run").chmod(0o755)
        db.session.add(Route(backend="phpfpm", server=server))
    server.settings = settings
    db.session.commit()


@pytest.fixture
def shop(web, make_account):
    make_account("Acme", domains=("shop.test",))
    web.login("acme@owner.test")


PHP_PAGE = "<?php echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['SCRIPT_NAME'], ' ', $_SERVER['QUERY_STRING'];"


def test_a_php_site_on_an_operator_nginx_is_served_and_success(
    web, shop, web_server, operator_nginx, phpfpm, sftpd, work
):
    """The block brings its own FastCGI parameters: nginx -t passes with no fastcgi_params beside the config."""
    web_settings(web_server, nginx=operator_nginx, phpfpm=phpfpm)
    try:
        user = new_system_user(web, work)
        new_web_app(web, user, "site")
        new_website(web, "Shop", "shop.test", db.session.scalar(sa.select(WebApp)))
        work()
        assert_all_success()
        upload(sftpd, user, "/webapps/site/index.php", PHP_PAGE)
        _status, body = wait_http(operator_nginx, "shop.test", "/index.php?a=1", 200, "GET")
        assert body == "GET /index.php a=1"
    finally:
        for path in phpfpm.pools_dir.glob("hostdeck-*"):
            path.unlink()
        phpfpm.reload()


def test_a_website_apply_on_the_stock_layout_is_success(web, shop, webstack, nginx, sftpd, work):
    """nginx says "[notice] signal process started" on every reload: that is no warning."""
    user = new_system_user(web, work)
    new_web_app(web, user, "files", kind="static")
    new_website(web, "Shop", "shop.test", db.session.scalar(sa.select(WebApp)))
    work()
    upload(sftpd, user, "/webapps/files/a.txt", "static")
    wait_http(nginx, "shop.test", "/a.txt", 200, "static")
    assert_all_success()
    assert "signal process started" in last_log().stdout  # still in the log, for staff


def test_a_real_nginx_warning_is_still_a_warning(web, shop, web_server, operator_nginx, operator_phpfpm, work):
    """The operator's own block for the same name: nginx warns once, and the apply says so."""
    web_settings(web_server, nginx=operator_nginx, phpfpm=operator_phpfpm)
    (operator_nginx.sites_dir / "operator.conf").write_text(
        f'server {{ listen {operator_nginx.listen}; server_name shop.test; return 200 "operator"; }}\n'
    )
    operator_nginx.reload()
    user = new_system_user(web, work)
    new_web_app(web, user, "files", kind="static")
    new_website(web, "Shop", "shop.test", db.session.scalar(sa.select(WebApp)))
    work()
    entry = last_log()
    assert entry.state == LogState.WARNING and entry.exit_code == 0
    lines = [line for line in entry.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "[warn]" in lines[0] and 'conflicting server name "shop.test"' in lines[0]
    assert db.session.scalar(sa.select(Website.status)) == Status.APPLIED


def test_deleting_the_last_app_passes_php_fpm_t(web, shop, web_server, operator_phpfpm, work):
    """The operator removed the stock pool, and the customer their one app: PHP-FPM still has a pool."""
    web_settings(web_server, phpfpm=operator_phpfpm)
    user = new_system_user(web, work)
    new_web_app(web, user, "site")
    work()
    assert_all_success()
    operator_phpfpm.builtin_pool.unlink()  # Debian's www.conf, which nothing here uses
    operator_phpfpm.reload()

    app = db.session.scalar(sa.select(WebApp))
    assert web.submit(f"/webapps/{app.id}/delete", {}).status_code == 302
    work()
    assert_all_success()
    assert count(WebApp) == 0
    assert not list(operator_phpfpm.pools_dir.glob("hostdeck-*__*.conf"))
    ok, said = operator_phpfpm.test_config()
    assert ok, said


# Postfix


@pytest.fixture
def operator_postfix(request, dovecot):
    """Postfix whose main.cf names its maps in a folder of the operator's that nothing has made yet."""
    with shared_root(request, "oppostfix") as root:
        server = Postfix(
            root,
            dovecot.lmtp_port,
            alias_maps=("aliases", "mailboxes"),
            maps_dir=root / "etc" / "hosted",
            create_maps=False,
        )
        with running(server):
            yield server


@pytest.fixture
def operator_mx(web, make_account, mail_server, operator_postfix):
    mail_server.settings = {
        **mail_server.settings,
        "postfix_maps_dir": str(operator_postfix.maps_dir),
        "postfix_config_dir": str(operator_postfix.config_dir),
    }
    db.session.add(Route(backend="postfix", server=mail_server))
    db.session.commit()
    make_account("Acme")
    web.login("acme@owner.test")
    return operator_postfix


def named_maps(postfix) -> list[Path]:
    """Every hash: map main.cf names."""
    names = ("virtual_mailbox_domains", "virtual_alias_maps", "virtual_mailbox_maps", "smtpd_recipient_restrictions")
    said = subprocess.run(
        [POSTCONF, "-c", str(postfix.config_dir), "-h", *names],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({Path(found) for found in re.findall(r"hash:([^\s,]+)", said)})


def test_every_map_main_cf_names_exists_from_the_first_apply(web, operator_mx, dovecot, work):
    assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
    work()  # the first change this server sees: a domain, and nothing else
    operator_mx.settle()
    assert_all_success()
    maps = named_maps(operator_mx)
    assert len(maps) == 4
    assert [m for m in maps if not m.with_suffix(".db").exists()] == []
    check = subprocess.run(
        ["script", "-qc", f"{POSTFIX} -c {operator_mx.config_dir} check", "/dev/null"], capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout.strip() == "", check.stdout

    # A name the domain does not have is refused for good at once, not "temporary lookup failure".
    with pytest.raises(Exception) as refused:
        operator_mx.send("someone@other.test", ["nobody@acme.test"], "Anyone?", "Not for anyone.")
    assert getattr(refused.value, "recipients", {}).get("nobody@acme.test", (0,))[0] == 550, refused.value

    new_mailbox(web, "alice", MAIL_PASSWORD, quota=50, with_address=True)
    work()
    operator_mx.settle()
    assert dovecot.wait_login("alice@acme.test", MAIL_PASSWORD)
    operator_mx.send("someone@other.test", ["alice@acme.test"], "First mail", "Hello.")
    assert [m["Subject"] for m in dovecot.wait_for_messages("alice@acme.test", MAIL_PASSWORD, 1)] == ["First mail"]
