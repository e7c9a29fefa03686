"""`flask servers check` against the real testbed: the test sshd with its pinned key, and the Dovecot,
Postfix, nginx, PHP-FPM, MariaDB and PostgreSQL the tests run. Server settings checked where they enter
(`flask servers add`) and before every apply. And the demo refuses production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Server, User
from portal.orchestration.checks import check_server
from tests.helpers import add_server, count, mailbox, new_mailbox, postfix_on, ssh_server
from tests.testbed.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def failed(findings) -> list[str]:
    return [f.line() for f in findings if not f.ok]


def test_a_mail_server_set_up_right_passes(mail_server, postfix):
    with postfix_on(mail_server, postfix):
        findings = check_server(mail_server)
    assert failed(findings) == []
    lines = [f.line() for f in findings]
    assert lines[0].startswith(
        f"Connection: connects to {mail_server.ssh_user}@127.0.0.1:{mail_server.port} with the pinned host key"
    )
    passwd = mail_server.settings["dovecot_passwd_file"]
    assert f"Dovecot: the passwd-file {passwd} exists — yes" in lines
    assert f"Postfix: main.cf uses the maps in {postfix.maps_dir} — yes" in lines
    assert "Postfix: Postfix runs — yes" in lines
    assert {f.backend for f in findings} == {"Connection", "Dovecot", "Postfix"}


def test_a_web_server_set_up_right_passes(webstack, nginx, phpfpm):
    findings = check_server(webstack)
    assert failed(findings) == []
    assert {f.backend for f in findings} == {"Connection", "System users", "PHP-FPM", "nginx"}
    assert "nginx: nginx -t accepts the main config — yes" in [f.line() for f in findings]
    assert any("syntax is ok" in f.detail for f in findings)  # the raw output is kept for staff


def test_a_database_server_set_up_right_passes(app, sshd, mariadb, postgres):
    server = ssh_server(
        "db1",
        sshd,
        mariadb_host=mariadb.host,
        mariadb_port=mariadb.port,
        mariadb_admin="root",
        **postgres.settings(),
    )
    findings = check_server(add_server(server, "mariadb", "postgresql"))
    assert failed(findings) == []
    lines = [f.line() for f in findings]
    assert "MariaDB: MariaDB answers a query as the admin login — yes" in lines
    assert "PostgreSQL: PostgreSQL answers a query as the admin login — yes" in lines


def test_a_setting_pointing_at_a_missing_file_is_the_one_reported(mail_server, nginx, tmp_path):
    missing = tmp_path / "no-such-folder" / "users"
    mail_server.settings = {**mail_server.settings, "dovecot_passwd_file": str(missing)}
    db.session.commit()
    assert failed(check_server(mail_server)) == [f"Dovecot: the passwd-file {missing} exists — no"]

    # A broken nginx config: the finding carries nginx's own words.
    mail_server.settings = {**mail_server.settings, "nginx_config": str(tmp_path / "nginx.conf")}
    add_server(mail_server, "nginx")
    (tmp_path / "nginx.conf").write_text("events {}\nhttp { nonsense_directive on; }\n")
    lines = failed(check_server(mail_server))
    assert f"nginx: the sites folder {Path('/etc/nginx/sites-enabled')} exists — yes" not in lines
    nginx_t = [line for line in lines if line.startswith("nginx: nginx -t accepts the main config — no: ")]
    assert len(nginx_t) == 1 and "unknown directive" in nginx_t[0]


def test_bad_settings_come_first_and_the_rest_is_still_looked_for(app, local_server):
    local_server.settings = {**local_server.settings, "exec_timeout": "soon", "dovecot_passwd_fil": "/x"}
    db.session.commit()
    findings = check_server(local_server)
    assert [f.line() for f in findings[:2]] == [
        "Settings: dovecot_passwd_fil is not a server setting: did you mean dovecot_passwd_file? — no",
        "Settings: exec_timeout must be a number of seconds from 1 to 86400, not 'soon'. — no",
    ]
    assert findings[2].line() == "Connection: runs a script on this machine (local transport) — yes"
    assert {f.backend for f in findings[3:]} == {"Dovecot"}


def test_a_wrong_host_key_is_refused_in_one_line(runner, mail_server, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmp_path / "other"], check=True)
    mail_server.host_key = (tmp_path / "other.pub").read_text()  # another machine's key
    db.session.commit()
    findings = check_server(mail_server)
    assert len(findings) == 1 and not findings[0].ok
    assert findings[0].backend == "Connection" and "host key of mail1 changed" in findings[0].detail

    result = runner.invoke(args=["servers", "check", "mail1"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and "— no: host key of mail1 changed" in lines[0]
    assert lines[1] == "Error: 1 of 1 checks on mail1 failed"


def test_an_unreachable_server_is_one_finding(app, sshd):
    server = ssh_server("gone1", sshd)
    server.port = free_port()  # nothing listens there
    findings = check_server(add_server(server, "dovecot"))
    assert len(findings) == 1 and not findings[0].ok and "cannot connect to gone1" in findings[0].detail


def test_check_from_the_command_line(runner, mail_server):
    result = runner.invoke(args=["servers", "check", "mail1"])
    assert result.exit_code == 0, result.output
    assert "Dovecot: the mail folder" in result.output and "— no" not in result.output
    missing = runner.invoke(args=["servers", "check", "nope"])
    assert missing.exit_code == 1 and missing.output == "Error: no server named 'nope'\n"


# Settings where they enter


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("dovecot_passwd_fil=/x", "dovecot_passwd_fil is not a server setting: did you mean dovecot_passwd_file?"),
        ("nginx_listen=80; include /etc/passwd", "nginx_listen must be a port, or an address and a port"),
        ("mail_root=/var/../etc", "mail_root must be an absolute path"),
        ("mariadb_port=99999", "mariadb_port must be empty, or a port from 1 to 65535"),
    ],
)
def test_add_refuses_bad_settings_in_one_line(runner, pair, message):
    result = runner.invoke(
        args=["servers", "add", "x", "--transport", "local", "--set", "mail_uid=5000", "--set", pair]
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}") and result.output.count("\n") == 1, result.output
    assert count(Server) == 0


def test_add_stores_values_as_they_are_read(runner):
    args = ["servers", "add", "web9", "--transport", "local", "--set", "nginx_listen=8080"]
    result = runner.invoke(args=[*args, "--set", "php_versions=8.1,8.2", "--set", "mail_uid=5000"])
    assert result.exit_code == 0, result.output
    server = db.session.scalar(sa.select(Server))
    assert server.settings == {"nginx_listen": "8080", "php_versions": ["8.1", "8.2"], "mail_uid": 5000}


def test_an_apply_with_bad_stored_settings_runs_nothing(web, make_account, local_server, work, tmp_path):
    """Settings put in by hand (SQL, an old portal): the change fails with the problem, no script runs."""
    local_server.settings = {**local_server.settings, "dovecot_passwd_fil": str(tmp_path / "other")}
    db.session.commit()
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice", "pw-Cobalt-meadow-58")
    work()
    entry = db.session.scalar(sa.select(BackendLog))
    assert entry.state == LogState.FAILURE and not entry.script and entry.exit_code is None
    assert "did you mean dovecot_passwd_file?" in entry.error
    assert "did you mean dovecot_passwd_file?" in mailbox("alice@acme.test").last_error
    assert not Path(local_server.settings["dovecot_passwd_file"]).exists()


# Production refuses the demo


def test_demo_seed_refuses_production(migrated):
    env = {
        **os.environ,
        "HOSTDECK_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "DATABASE_URL": migrated,
        "FLASK_APP": "wsgi",
    }
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run([flask, "demo", "seed"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("Error: refused: HOSTDECK_ENV is production")
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    engine.dispose()
