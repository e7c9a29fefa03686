"""SSH keys keep their authorized_keys options: checked, shown, and enforced by a real sshd.

A key its owner restricted is never installed unrestricted: each option is kept in one spelling or
the key is refused with the option named.
"""

import subprocess
from pathlib import Path

import paramiko
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Status, SystemUser
from portal.orchestration.ssh import parse_host_key
from tests.helpers import account_named, count, page_text, wait_for
from tests.testbed.ports import HOST

P1 = "ssh-password-1"


@pytest.fixture
def key(sftpd):
    return paramiko.Ed25519Key.from_private_key_file(str(sftpd.client_key_path))


@pytest.fixture
def public(key):
    return f"{key.get_name()} {key.get_base64()}"


@pytest.fixture
def acme(web, make_account, web_server):
    account = make_account("Keyring")
    account.allow_login_shell = True
    db.session.commit()
    web.login("keyring@owner.test")
    return web_server


def create(web, keys: str, shell: str = "bash"):
    data = {"name": "keys", "password": P1, "confirm": P1, "shell": shell, "ssh_keys": keys}
    return web.submit("/system-users/new", data)


def set_keys(web, user: SystemUser, keys: str, shell: str = "bash"):
    page = f"/system-users/{user.id}"
    return web.submit(page, {"shell": shell, "ssh_keys": keys}, post_url=f"{page}/settings")


def applied_user(web, work, keys: str) -> SystemUser:
    response = create(web, keys)
    assert response.status_code == 302, page_text(response)
    work()
    user = db.session.scalar(sa.select(SystemUser))
    assert user.status == Status.APPLIED, user.last_error
    return user


@pytest.fixture
def ssh(acme, sftpd):
    """Key logins to the SFTP sshd (None when it refuses the key); closed before the users go, since
    userdel refuses a user that still has a session."""
    clients: list[tuple[paramiko.SSHClient, str]] = []

    def login(user: SystemUser, key) -> paramiko.SSHClient | None:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        host_key = parse_host_key(sftpd.host_key_line)
        client.get_host_keys().add(f"[{sftpd.host}]:{sftpd.port}", host_key.get_name(), host_key)
        clients.append((client, user.name))
        try:
            client.connect(
                sftpd.host, sftpd.port, username=user.name, pkey=key, look_for_keys=False, allow_agent=False, timeout=10
            )
        except paramiko.AuthenticationException:
            return None
        return client

    yield login
    for client, _ in clients:
        client.close()
    for _, name in clients:
        wait_for(lambda name=name: not sessions_of(name), what=f"{name}'s sessions to end ({processes(name)})")


def processes(name: str) -> str:
    return subprocess.run(["pgrep", "-a", "-f", f"sshd: {name}"], capture_output=True, text=True).stdout


def sessions_of(name: str) -> bool:
    # By name, not uid: useradd gives a freed uid again, and an earlier test's user may still have one open.
    pattern = f"^sshd: {name}(@| |$)"
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, check=False).returncode == 0


def run(client: paramiko.SSHClient, command: str) -> str:
    _, stdout, _ = client.exec_command(command, timeout=10)
    return stdout.read().decode()


def can_forward(client: paramiko.SSHClient, port: int) -> bool:
    """Whether sshd opens a direct-tcpip channel (ssh -L) to 127.0.0.1:port."""
    try:
        channel = client.get_transport().open_channel("direct-tcpip", (HOST, port), (HOST, 0), timeout=10)
    except paramiko.ChannelException:
        return False
    channel.close()
    return True


def authorized_keys(acme, user: SystemUser) -> str:
    return Path(acme.settings["web_home_root"], user.name, ".ssh", "authorized_keys").read_text()


def test_options_are_kept_written_and_shown(web, acme, work, public):
    # Quoted values may hold commas, spaces and escaped quotes: sshd's own reading of the line.
    line = f'restrict,from="127.0.0.1,10.0.0.0/8",command="echo \\"a, b\\"",permitopen="localhost:5432" {public} laptop'
    user = applied_user(web, work, line)
    expected = f'restrict,from="127.0.0.1,10.0.0.0/8",command="echo \\"a, b\\"",permitopen="localhost:5432" {public}'
    assert user.ssh_keys == expected
    assert authorized_keys(acme, user) == expected + "\n"
    shown = web.get(f"/system-users/{user.id}").get_data(as_text=True)
    for option in ("restrict", "from=&#34;127.0.0.1,10.0.0.0/8&#34;", "permitopen=&#34;localhost:5432&#34;"):
        assert option in shown


def test_names_are_written_in_one_spelling(web, acme, work, public):
    user = applied_user(web, work, f'No-Port-Forwarding,COMMAND="true" {public}')
    assert user.ssh_keys == f'no-port-forwarding,command="true" {public}'


def test_from_limits_where_the_key_logs_in(web, acme, work, ssh, public, key):
    user = applied_user(web, work, f'from="127.0.0.2" {public}')
    assert ssh(user, key) is None  # we connect from 127.0.0.1
    assert set_keys(web, user, f'from="127.0.0.1" {public}').status_code == 302
    work()
    client = ssh(user, key)
    assert client is not None
    client.close()


@pytest.mark.parametrize("option", ["restrict", "no-port-forwarding"])
def test_restricted_key_cannot_forward_ports(web, acme, work, ssh, sftpd, public, key, option):
    user = applied_user(web, work, public)
    client = ssh(user, key)
    assert can_forward(client, sftpd.port)  # the same user, unrestricted, can
    client.close()
    set_keys(web, user, f"{option} {public}")
    work()
    client = ssh(user, key)
    assert not can_forward(client, sftpd.port)
    client.close()


def test_command_is_forced(web, acme, work, ssh, public, key):
    user = applied_user(web, work, f'command="echo forced: $SSH_ORIGINAL_COMMAND" {public}')
    client = ssh(user, key)
    assert run(client, "id") == "forced: id\n"
    client.close()


def test_environment_is_refused_since_sshd_would_ignore_it(web, acme, work, ssh, public, key):
    """sshd runs with PermitUserEnvironment off (its default, and safer: no LD_PRELOAD from a key),
    so environment= would silently do nothing: the portal refuses it instead of pretending."""
    user = applied_user(web, work, public)
    Path(acme.settings["web_home_root"], user.name, ".ssh", "authorized_keys").write_text(
        f'environment="HOSTDECK_PROBE=1" {public}\n'  # written behind the portal's back
    )
    client = ssh(user, key)
    assert client is not None
    assert run(client, 'echo "[${HOSTDECK_PROBE:-unset}]"') == "[unset]\n"
    client.close()
    response = set_keys(web, user, f'environment="HOSTDECK_PROBE=1" {public}')
    assert "environment= is not allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("cert-authority", "cert-authority is not allowed"),
        ('cert-authority,principals="alice"', "cert-authority is not allowed"),
        ('principals="alice"', "principals= only works with cert-authority"),
        ('environment="PATH=/tmp"', "environment= is not allowed"),
        ('tunnel="0"', "tunnel= is not allowed"),
        ("no-such-option", "no-such-option is not an SSH key option"),
        ('from="10.0.0.1/8"', "from=: &#39;10.0.0.1/8&#39; is not a network"),
        ('from="a b"', "from=: &#39;a b&#39; is not a host name"),
        ('from="127.0.0.1",from="10.0.0.1"', "from= may appear only once"),
        ('command="true",command="false"', "command= may appear only once"),
        ('command=""', "command= needs the command"),
        ("command=true", "Put the value of command= in double quotes"),
        ('command="unclosed', "not closed"),
        ('permitopen="localhost"', "permitopen= takes host:port"),
        ('permitopen="localhost:99999"', "permitopen= takes host:port"),
        ('permitlisten="x:y"', "permitlisten= takes [host:]port"),
        ('expiry-time="2030-12-31"', "expiry-time= takes a date"),
        ("restrict=1", "restrict takes no value"),
        ("restrict,", "end with a comma"),
        ('command="tab\there"', "control characters"),
    ],
)
def test_bad_options_refuse_the_key_by_name(web, acme, queued, public, options, message):
    response = create(web, f"{options} {public}")
    assert response.status_code == 200
    assert message.lower() in response.get_data(as_text=True).lower()
    assert count(SystemUser) == 0
    assert queued() == 0


def test_good_values_are_accepted(web, acme, queued, public):
    options = (
        'from="!10.0.0.5,10.0.0.0/8,*.example.com,2001:db8::/32",expiry-time="203012312359Z",'
        'permitopen="[2001:db8::1]:22",permitopen="db.example.com:*",permitlisten="8080",'
        'permitlisten="localhost:8081",no-agent-forwarding,no-pty,no-X11-forwarding,no-user-rc'
    )
    assert create(web, f"{options} {public}").status_code == 302
    assert account_named("Keyring") is not None
    assert db.session.scalar(sa.select(SystemUser.ssh_keys)) == f"{options} {public}"
