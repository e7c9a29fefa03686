"""Server settings: one declared list, which every key the code reads is in, which refuses typos and values
that could inject, and which the README's table is written from."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from portal.models.server_settings import BY_NAME, SETTINGS, setting_from_text, settings_problems, with_table

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_table_is_the_declared_list():
    readme = (ROOT / "README.md").read_text()
    assert with_table(readme) == readme, "run scripts/server_settings_table.py"


def _reads() -> list[tuple[str, str, ast.Call]]:
    """Every server.setting("name", ...) call in the portal's code."""
    calls = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setting"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.args[0].value, node))
    return calls


def test_every_setting_the_code_reads_is_declared_with_the_default_it_uses():
    reads = _reads()
    assert len(reads) > 30  # the walk finds the backends' reads
    assert [f"{where} {name}" for where, name, _ in reads if name not in BY_NAME] == []
    differing = []
    for where, name, call in reads:
        if len(call.args) > 1 and isinstance(call.args[1], ast.Constant | ast.List):
            default = ast.literal_eval(call.args[1])
            if default != BY_NAME[name].default:
                differing.append(f"{where} {name}: {default!r} here, {BY_NAME[name].default!r} declared")
    assert differing == []


def test_every_declared_default_has_its_own_shape():
    assert [s.name for s in SETTINGS if s.default is not None and not s.shape.ok(s.default)] == []
    assert len(BY_NAME) == len(SETTINGS)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"dovecot_passwd_fil": "/x"}, "dovecot_passwd_fil is not a server setting: did you mean dovecot_passwd_file?"),
        ({"no_such_thing": "1"}, "no_such_thing is not a server setting (the README lists them)."),
        (
            {"nginx_listen": "80; include /etc/passwd"},
            (
                "nginx_listen must be a port, or an address and a port, such as 80, 127.0.0.1:8080 or [::1]:443, "
                "not '80; include /etc/passwd'."
            ),
        ),
        ({"nginx_listen_https": "127.0.0.1:99999"}, "nginx_listen_https must be a port"),
        ({"nginx_listen": "0"}, "nginx_listen must be a port"),
        ({"nginx_listen": "example.com:80"}, "nginx_listen must be a port"),
        ({"mail_root": "var/vmail"}, "mail_root must be an absolute path"),
        ({"mail_root": "/var/vmail/../../etc"}, "mail_root must be an absolute path"),
        ({"nginx_sites_dir": "/etc/nginx/sites; reload"}, "nginx_sites_dir must be an absolute path"),
        ({"dovecot_passwd_file": "/etc/dovecot/users\n/x"}, "dovecot_passwd_file must be an absolute path"),
        ({"dovecot_passwd_file": "/etc/$(id)"}, "dovecot_passwd_file must be an absolute path"),
        ({"phpfpm_binary": 5}, "phpfpm_binary must be an absolute path"),
        ({"mail_uid": -1}, "mail_uid must be a number from 0 to 4294967294, not -1."),
        ({"mail_uid": "5000x"}, "mail_uid must be a number"),
        ({"mail_uid": True}, "mail_uid must be a number"),
        ({"mariadb_port": 70000}, "mariadb_port must be empty, or a port from 1 to 65535"),
        ({"exec_timeout": 0}, "exec_timeout must be a number of seconds from 1 to 86400"),
        ({"dovecot_scheme": "MD5"}, "dovecot_scheme must be one of SHA512-CRYPT, ARGON2ID, not 'MD5'."),
        ({"mariadb_auth": "old_password"}, "mariadb_auth must be one of parsec, ed25519, mysql_native_password"),
        ({"sftp_group": "wheel;x"}, "sftp_group must be a user or group name"),
        ({"postfix_postmap": "postmap -v"}, "postfix_postmap must be empty, or a command name or an absolute path"),
        ({"mariadb_client": "-e"}, "mariadb_client must be a command name"),
        ({"mariadb_host": "db1 --password=x"}, "mariadb_host must be empty, or a host name"),
        ({"postgresql_admin_db": "Postgres"}, "postgresql_admin_db must be a database name"),
        ({"php_versions": "8.2"}, "php_versions must be PHP versions such as 8.2"),
        ({"php_versions": ["8.2", "8.3;"]}, "php_versions must be PHP versions"),
    ],
)
def test_bad_settings_are_refused_in_words(settings, problem):
    problems = settings_problems(settings)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_one_problem_per_bad_setting_and_none_for_good_ones():
    good = {
        "dovecot_passwd_file": "/tmp/hostdeck-dovecot-ab_12/users",
        "dovecot_passwd_group": "",
        "mail_uid": 5000,
        "mail_gid": "5000",
        "postfix_postmap": "",
        "postfix_config_dir": "/etc/postfix-hostdeck",
        "nginx_listen": "127.0.0.1:8080",
        "nginx_listen_https": "[::1]:8443",
        "php_versions": ["8.1", "8.2"],
        "mariadb_user_host": "10.0.0.%",
        "mariadb_host": "127.0.0.1",
        "mariadb_port": 3306,
        "postgresql_host": "/tmp/pg-socket",
        "postgresql_run_as": "",
        "exec_timeout": 2,
    }
    assert settings_problems(good) == []
    assert settings_problems({}) == []
    assert len(settings_problems({**good, "mail_uid": "x", "nginx_listen": "80 ssl", "typo": 1})) == 3


def test_set_values_are_stored_as_their_setting_reads_them():
    assert setting_from_text("mail_uid", "5000") == 5000
    assert setting_from_text("nginx_listen", "8080") == "8080"  # nginx reads text
    assert setting_from_text("php_versions", "8.1, 8.2") == ["8.1", "8.2"]
    assert setting_from_text("mariadb_port", "") == ""
    assert setting_from_text("unknown_key", "7") == "7"


def test_a_port_stored_as_a_number_before_the_list_still_passes():
    # The CLI before the declared list stored `--set nginx_listen=8080` as 8080: an upgrade must not fail
    # every apply on such a server; 99999 stays refused.
    assert settings_problems({"nginx_listen": 8080}) == []
    assert settings_problems({"nginx_listen": 99999}) != []
    assert settings_problems({"nginx_listen": True}) != []
