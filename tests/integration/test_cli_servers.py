"""`flask servers edit|repin|remove|unroute|route`, run as an operator runs them, and every command's error
as one line on stderr with a non-zero exit (cli/errors.py)."""

import logging
import subprocess

import click
import pytest
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from portal.cli.errors import one_line_errors
from portal.extensions import db
from portal.models import AuditEvent, Route, Server
from portal.orchestration.transports import host_key_from_keyscan
from portal.services import ServiceError
from portal.services import servers as manage
from tests.helpers import add_server, count, ssh_server
from tests.testbed.plugin import need


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def mail1(app, sshd):
    return add_server(ssh_server("mail1", sshd, mail_root="/srv/vmail", mail_uid=5000), "dovecot")


def one_line_error(result, exit_code: int = 1) -> str:
    """The error's one line, once the command failed the way every command fails."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no exception escaped
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0].removeprefix("Error: ")


def server(name: str) -> Server | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Server).where(Server.name == name))


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def new_key(tmp_path) -> tuple[str, str]:
    need("ssh-keygen", "ssh-keygen (openssh-client)")
    path = tmp_path / "new"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    printed = subprocess.run(["ssh-keygen", "-l", "-f", f"{path}.pub"], capture_output=True, text=True, check=True)
    return path.with_suffix(".pub").read_text().strip(), printed.stdout.split()[1]


def test_edit_sets_and_unsets(runner, mail1):
    result = runner.invoke(
        args=[
            *("servers", "edit", "mail1", "--host", "10.0.0.7", "--port", "2222", "--user", "deploy"),
            *("--set", "mail_gid=5000", "--set", "nginx_config=/etc/nginx/nginx.conf", "--unset", "mail_root"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "server mail1: host, port, ssh_user, set, unset changed\n"
    s = server("mail1")
    assert (s.host, s.port, s.ssh_user) == ("10.0.0.7", 2222, "deploy")
    assert s.settings == {"mail_uid": 5000, "mail_gid": 5000, "nginx_config": "/etc/nginx/nginx.conf"}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "server.edit"))
    assert event.actor_id is None and event.fields["unset"] == ["mail_root"]
    again = runner.invoke(args=["servers", "edit", "mail1", "--port", "2222"])
    assert again.output == "server mail1: nothing to change\n" and actions().count("server.edit") == 1


@pytest.mark.parametrize(
    ("args", "exit_code", "words"),
    [
        (["servers", "edit", "nosuch", "--port", "22"], 1, "There is no server named nosuch."),
        (["servers", "edit", "mail1", "--port", "0"], 2, "Invalid value for '--port'"),
        (["servers", "edit", "mail1", "--port", "ssh"], 2, "Invalid value for '--port'"),
        (["servers", "edit", "mail1", "--host", "a b"], 1, "A host name or IP address has only letters"),
        (["servers", "edit", "mail1", "--user", "root\n"], 1, "Line breaks and control characters are not allowed"),
        (["servers", "edit", "mail1", "--set", "mail_root"], 2, "'mail_root' is not KEY=VALUE"),
        (["servers", "edit", "mail1", "--unset", "nginx_config"], 1, "mail1 has no setting nginx_config."),
        (["servers", "edit", "mail1", "--bogus"], 2, "No such option '--bogus'"),
        (["servers", "route", "dovecot", "mail1"], 1, "dovecot already runs on mail1."),
        (["servers", "route", "dovecot", "nosuch"], 1, "There is no server named nosuch."),
        (["servers", "route", "nosuch", "mail1"], 2, "'nosuch' is not one of 'bind', 'dovecot'"),
        (["servers", "unroute", "postfix", "mail1"], 1, "postfix does not run on mail1."),
        (["servers", "remove", "mail1", "--yes"], 1, "mail1 still runs dovecot: remove that route first."),
        (["servers", "repin", "mail1"], 2, "give exactly one of --host-key and --keyscan-file"),
        (["servers", "repin", "mail1", "--host-key", "ssh-ed25519 AA!!"], 1, "No public host key could be read"),
        (["servers", "add", "mail1", "--transport", "local"], 1, "name"),  # taken: the database says so
        (["accounts", "create"], 2, "Missing argument 'NAME'"),
        (["plans", "apply", "nosuch", "nosuch"], 1, ""),
    ],
)
def test_every_error_is_one_line(runner, mail1, args, exit_code, words):
    before = (count(Route), server("mail1").settings, actions())
    assert words in one_line_error(runner.invoke(args=args), exit_code)
    assert (count(Route), server("mail1").settings, actions()) == before


def test_a_duplicate_the_database_refuses_is_one_line(runner, mail1):
    """Two routes of one backend to one server: the unique constraint, said in one line."""
    db.session.add(Route(backend="postfix", server=server("mail1")))
    db.session.commit()
    group = AppGroup("dup")

    @group.command("route-again")
    def route_again():
        db.session.add(Route(backend="postfix", server=server("mail1")))
        db.session.commit()

    message = one_line_error(runner.invoke(one_line_errors(group), ["route-again"]))
    assert message.startswith("the database refused the change: ")
    assert "uq_route_backend_server" in message or "route.backend, route.server_id" in message  # PostgreSQL, SQLite
    assert count(Route) == 2


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (click.ClickException("bad\nthing"), "bad thing"),
        (ServiceError("Refused in words."), "Refused in words."),
        (ValueError("not a number: x"), "not a number: x"),
        (IntegrityError("INSERT", {}, Exception("duplicate key value\nDETAIL: Key (name)=(x)")), "duplicate key value"),
    ],
)
def test_expected_errors_of_any_group_are_one_line(runner, error, words):
    group = AppGroup("anything")

    @group.command("fail")
    def fail():
        raise error

    assert words in one_line_error(runner.invoke(one_line_errors(group), ["fail"]))


def test_a_bug_is_one_line_and_its_traceback_is_logged(runner, caplog):
    group = AppGroup("anything")

    @group.command("crash")
    def crash():
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR):
        message = one_line_error(runner.invoke(one_line_errors(group), ["crash"]))
    assert message == "unexpected error (KeyError: 'boom'); the traceback is in the log"
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.getMessage() == "anything crash failed" and record.exc_info[0] is KeyError


def test_a_lone_command_errors_in_one_line_too(runner):
    @click.command("alone")
    def alone():
        raise ServiceError("Alone and refused.")

    assert one_line_error(runner.invoke(one_line_errors(alone))) == "Alone and refused."


def test_repin_shows_the_fingerprints_and_asks(runner, mail1, sshd, tmp_path):
    need("ssh-keyscan", "ssh-keyscan (openssh-client)")
    line, printed = new_key(tmp_path)
    old = manage.fingerprint(mail1.host_key)
    asked = runner.invoke(args=["servers", "repin", "mail1", "--host-key", line], input="n\n")
    assert asked.exit_code == 1 and f"old: {old}\nnew: {printed}\nPin the new key for mail1? [y/N]" in asked.output
    assert server("mail1").host_key == mail1.host_key and "server.repin" not in actions()
    pinned = runner.invoke(args=["servers", "repin", "mail1", "--host-key", line], input="y\n")
    assert pinned.exit_code == 0 and pinned.output.endswith(f"server mail1: host key re-pinned ({printed})\n")
    assert manage.fingerprint(server("mail1").host_key) == printed
    # Back to the real key, from ssh-keyscan's output, without asking.
    scan = tmp_path / "keyscan.txt"
    scan.write_text(
        subprocess.run(["ssh-keyscan", "-p", str(sshd.port), sshd.host], capture_output=True, text=True).stdout
    )
    back = runner.invoke(args=["servers", "repin", "mail1", "--keyscan-file", str(scan), "--yes"])
    assert back.exit_code == 0 and f"old: {printed}\n" in back.output
    assert server("mail1").host_key == host_key_of(scan)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "server.repin")).all()
    assert [e.fields for e in events] == [
        {"old_fingerprint": old, "new_fingerprint": printed},
        {"old_fingerprint": printed, "new_fingerprint": manage.fingerprint(host_key_of(scan))},
    ]
    same = runner.invoke(args=["servers", "repin", "mail1", "--keyscan-file", str(scan), "--yes"])
    assert one_line_error(same) == "That is the key already pinned for mail1."


def host_key_of(scan) -> str:
    return host_key_from_keyscan(scan.read_text())


def test_unroute_then_remove(runner, mail1):
    result = runner.invoke(args=["servers", "unroute", "dovecot", "mail1"])
    assert result.exit_code == 0 and result.output == "dovecot no longer runs on mail1; what it wrote there stays\n"
    declined = runner.invoke(args=["servers", "remove", "mail1"], input="n\n")
    assert declined.exit_code == 1 and server("mail1") is not None
    removed = runner.invoke(args=["servers", "remove", "mail1"], input="y\n")
    assert removed.exit_code == 0 and removed.output.endswith("server mail1 removed, with 0 backend log(s)\n")
    assert server("mail1") is None
    assert actions() == ["server.unroute", "server.remove"]
    assert one_line_error(runner.invoke(args=["servers", "remove", "mail1"])) == "There is no server named mail1."
