"""The operator commands, run the way an operator runs them."""

import subprocess

import pytest
import sqlalchemy as sa
from flask_migrate import check

from portal.extensions import db
from portal.models import Account, Domain, LoginSession, Role, Route, Server, User
from portal.security.passwords import check_password
from tests.helpers import account_named, count, user_named
from tests.testbed.plugin import need


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_create_admin(runner):
    result = runner.invoke(
        args=["users", "create-admin", "Ops@Example.com"], input="s3cret-admin-pw\ns3cret-admin-pw\n"
    )
    assert result.exit_code == 0, result.output
    user = user_named("ops@example.com")
    assert user.role == Role.ADMIN and user.account_id is None
    assert check_password("s3cret-admin-pw", user.password_hash)[0]
    again = runner.invoke(args=["users", "create-admin", "ops@example.com"], input="x-password-1\nx-password-1\n")
    assert again.exit_code == 1 and "Error: ops@example.com already exists" in again.output


def test_accounts_and_domains(runner):
    assert (
        runner.invoke(
            args=[
                "accounts",
                "create",
                "Resell",
                "--kind",
                "reseller",
                "--owner",
                "r@x.test",
                "--password",
                "pw-Juniper-tide-64",
            ]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        args=[
            "accounts",
            "create",
            "Shop",
            "--reseller",
            "Resell",
            "--owner",
            "s@x.test",
            "--password",
            "pw-Juniper-tide-64",
        ]
    )
    assert result.exit_code == 0, result.output
    shop = account_named("Shop")
    assert shop.parent.name == "Resell"
    assert runner.invoke(args=["domains", "add", "Shop", "Bücher.Example"]).exit_code == 0
    assert db.session.scalar(sa.select(Domain.name)) == "xn--bcher-kva.example"
    taken = runner.invoke(args=["domains", "add", "Resell", "bücher.example"])
    assert taken.exit_code == 1 and "Error: xn--bcher-kva.example is already taken" in taken.output


def test_add_server_from_keyscan_and_route(runner, sshd, tmp_path):
    need("ssh-keyscan", "ssh-keyscan (openssh-client)")
    scan = subprocess.run(["ssh-keyscan", "-p", str(sshd.port), "127.0.0.1"], capture_output=True, text=True)
    keyscan = tmp_path / "keyscan.txt"
    keyscan.write_text(scan.stdout)
    result = runner.invoke(
        args=[
            "servers",
            "add",
            "mail1",
            "--host",
            "127.0.0.1",
            "--port",
            str(sshd.port),
            "--keyscan-file",
            str(keyscan),
            "--set",
            "dovecot_scheme=ARGON2ID",
            "--set",
            "mail_uid=5000",
        ]
    )
    assert result.exit_code == 0, result.output
    server = db.session.scalar(sa.select(Server))
    assert server.host_key == sshd.host_key_line.split()[0] + " " + sshd.host_key_line.split()[1]
    assert server.settings == {"dovecot_scheme": "ARGON2ID", "mail_uid": 5000}
    assert runner.invoke(args=["servers", "route", "dovecot", "mail1"]).exit_code == 0
    assert db.session.scalar(sa.select(Route.backend)) == "dovecot"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["servers", "add", "bad", "--host-key", "ssh-ed25519 not-base64!"], "not a valid ssh-ed25519 public key"),
        (["servers", "add", "nokey"], "an SSH server needs --host-key or --keyscan-file"),
    ],
)
def test_ssh_server_needs_a_valid_pinned_key(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and f"Error: {message}" in result.output
    assert count(Server) == 0


def test_an_unknown_mariadb_auth_is_refused(runner):
    args = ["servers", "add", "db1", "--transport", "local", "--set", "mariadb_auth=old_password"]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "mariadb_auth must be one of parsec, ed25519, mysql_native_password" in result.output
    assert count(Server) == 0
    args[-1] = "mariadb_auth=parsec"
    assert runner.invoke(args=args).exit_code == 0


def test_demo_seed_is_idempotent(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert "Demo data created." in first.output and "customer@example.com" in first.output
    assert "Demo data already there." in runner.invoke(args=["demo", "seed"]).output
    assert count(User) == 4


def test_worker_needs_redis(app):
    app.config["REDIS_URL"] = ""
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "Error: REDIS_URL is not set" in result.output


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["domains", "add", "Acme", "exa\nmple.com"], 1),  # refused by the command
        (["domains", "add", "Acme", "exa\u2028mple.com"], 1),  # any Unicode line separator or control
        (["servers", "add", "x", "--host", "mail1\x85", "--transport", "local"], 2),
        (["servers", "add", "x", "--transport", "local", "--set", "mail_root=/var/vmail\n/etc"], 2),  # by its option
        (["servers", "add", "x", "--host", "mail1\n", "--transport", "local"], 2),
    ],
)
def test_control_characters_never_reach_a_server(runner, make_account, args, exit_code):
    make_account("Acme")
    result = runner.invoke(args=args)
    assert result.exit_code == exit_code
    assert "Line breaks and control characters are not allowed" in result.output
    assert count(Server) == 0
    assert count(Domain) == 0


def test_models_and_migrations_agree(app):
    """A model change without its migration fails here (alembic's autogenerate finds the difference)."""
    check()  # raises AutogenerateDiffsDetected on any difference


def test_reset_two_factor(app, web, make_staff):
    staff = make_staff()
    web.login("staff@hostdeck.test")
    result = app.test_cli_runner().invoke(args=["users", "reset-two-factor", "Staff@Hostdeck.test"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    db.session.refresh(staff)
    assert not staff.totp_enabled and staff.totp_secret is None
    assert count(LoginSession) == 0
    assert web.get("/staff/accounts").status_code == 302  # logged out; the next login sets it up again
    assert app.test_cli_runner().invoke(args=["users", "reset-two-factor", "nobody@x.test"]).exit_code == 1


def test_two_resellers_may_each_have_a_customer_of_one_name(runner):
    def create(*args):
        return runner.invoke(args=["accounts", "create", *args, "--password", "pw-Juniper-tide-64"])

    assert create("North", "--kind", "reseller", "--owner", "n@x.test").exit_code == 0
    assert create("South", "--kind", "reseller", "--owner", "s@x.test").exit_code == 0
    assert create("Shop", "--reseller", "North", "--owner", "shop@n.test").exit_code == 0
    assert create("Shop", "--reseller", "South", "--owner", "shop@s.test").exit_code == 0
    again = create("Shop", "--reseller", "South", "--owner", "shop2@s.test")
    assert again.exit_code == 1 and "an account named Shop already exists" in again.output
    vague = runner.invoke(args=["plans", "limit", "Shop", "--mailboxes", "3"])
    assert vague.exit_code == 1 and "write it as reseller/Shop" in vague.output
    assert runner.invoke(args=["plans", "limit", "South/Shop", "--mailboxes", "3"]).exit_code == 0
    shops = db.session.scalars(sa.select(Account).where(Account.name == "Shop")).all()
    limits = {shop.parent.name: shop.max_mailboxes for shop in shops}
    assert limits == {"South": 3, "North": None}


def test_an_account_made_on_the_command_line_may_have_an_emergency_contact(runner, smtp, app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, PUBLIC_URL="https://portal.example", REDIS_URL="")

    def create(*args):
        return runner.invoke(args=["accounts", "create", *args, "--password", "pw-Juniper-tide-64"])

    assert create("North", "--kind", "reseller", "--owner", "n@x.test").exit_code == 0
    db.session.add(
        Domain(account=db.session.scalar(sa.select(Account).where(Account.name == "North")), name="north.example.com")
    )
    db.session.commit()
    refused = create(
        "Shop", "--reseller", "North", "--owner", "shop@n.test", "--emergency-contact", "me@north.example.com"
    )
    assert refused.exit_code == 1 and "is hosted here" in refused.output
    made = create(
        "Shop", "--reseller", "North", "--owner", "shop@n.test", "--emergency-contact", "me@elsewhere.example.org"
    )
    assert made.exit_code == 0, made.output
    shop = db.session.scalar(sa.select(Account).where(Account.name == "Shop"))
    assert shop.emergency_email == "me@elsewhere.example.org" and shop.emergency_confirmed_at is None
    assert [m["To"] for m in smtp.messages] == ["me@elsewhere.example.org"]
