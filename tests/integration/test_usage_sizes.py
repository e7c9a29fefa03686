"""Sizes measured on the servers by a usage round (metering/rounds.py): mailboxes filled through the real
Dovecot's LMTP, homes and web apps over the test sshd, databases on MariaDB and a real PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import secrets
import smtplib
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    BackendLog,
    Database,
    Domain,
    Mailbox,
    OpState,
    Placement,
    Reading,
    Rollup,
    Sample,
    Status,
    SystemUser,
    WebApp,
)
from portal.models.accounts import name_prefix
from portal.models.metering import Metric
from portal.orchestration.metering.collectors import COLLECTORS
from portal.orchestration.metering.rounds import collect_server
from portal.orchestration.metering.store import hour_of
from tests.helpers import (
    add_server,
    counted,
    local_mail_server,
    mailbox,
    mailbox_operation,
    new_mailbox,
    new_system_user,
    new_web_app,
    ssh_server,
)

PW = "usage-Pässword-1"
MIB = 1024 * 1024
RUN = "t" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))  # the shared MariaDB's names


def reading(obj, metric: Metric) -> int | None:
    return db.session.scalar(
        sa.select(Reading.value).where(
            Reading.object_type == type(obj).__name__, Reading.object_id == obj.id, Reading.metric == str(metric)
        )
    )


def rollups(obj, metric: Metric) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Rollup.period, Rollup.value).where(
            Rollup.object_type == type(obj).__name__, Rollup.object_id == obj.id, Rollup.metric == str(metric)
        )
    )
    return dict(rows.tuples().all())


def highest_kept(obj, metric: Metric, high: int, low: int) -> None:
    """After a round that read `high` and one that read `low`: the reading is the newest, and the hour's
    rollup kept the highest (unless the rounds fell in two hours: then each hour has its own)."""
    assert reading(obj, metric) == low
    first, second = db.session.scalars(
        sa.select(Sample.at)
        .where(Sample.object_type == type(obj).__name__, Sample.object_id == obj.id, Sample.metric == str(metric))
        .order_by(Sample.id)
    ).all()
    hours = dict(
        db.session.execute(
            sa.select(Rollup.start, Rollup.value).where(
                Rollup.object_type == type(obj).__name__,
                Rollup.object_id == obj.id,
                Rollup.metric == str(metric),
                Rollup.period == "hour",
            )
        )
        .tuples()
        .all()
    )
    if hour_of(first) == hour_of(second):
        assert hours == {hour_of(first): high}
    else:
        assert hours == {hour_of(first): high, hour_of(second): low}


def own_state_dir(server, tmp_path: Path) -> None:
    """The round's lock file in the test's folder: other tests' rounds on this machine hold their own."""
    server.settings = {**server.settings, "usage_state_dir": str(tmp_path / f"usage-{server.name}")}
    db.session.commit()


def round_on(server, **kw) -> dict:
    summary = collect_server(server.id, **kw)
    db.session.expire_all()
    return summary


def deliver(dovecot, to: str, subject: str, body: str) -> None:
    """Straight into Dovecot's LMTP, as Postfix hands mail over."""
    message = f"From: someone@other.test\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port) as lmtp:
        lmtp.sendmail("someone@other.test", [to], message.encode())


def maildir(dovecot, address: str) -> Path:
    local, _, domain = address.partition("@")
    return dovecot.mail_root / domain / local / "Maildir"


def on_disk(folder: Path) -> tuple[int, int]:
    """Bytes and messages in a Maildir's cur/ and new/, and its .Folders', as the test counts them."""
    files = [f for sub in ("cur", "new") for f in folder.glob(f"{sub}/*")]
    files += [f for sub in ("cur", "new") for f in folder.glob(f".*/{sub}/*")]
    return sum(f.stat().st_size for f in files), len(files)


@pytest.fixture
def mail(acme, web, work, dovecot, tmp_path):
    """Acme's mailboxes alice and bob, applied on mail1 (the real Dovecot), Dovecot knowing both."""
    need_lmtp(dovecot)
    own_state_dir(acme, tmp_path)
    for name in ("alice", "bob"):
        assert new_mailbox(web, name, PW, quota=50).status_code == 302
    work()
    for name in ("alice", "bob"):
        assert mailbox(f"{name}@acme.test").status == Status.APPLIED
        assert dovecot.wait_login(f"{name}@acme.test", PW)
    return acme


def need_lmtp(dovecot) -> None:
    if not dovecot.lmtp:
        pytest.fail("dovecot-lmtpd is needed to fill a mailbox")


def test_a_mailbox_filled_through_lmtp_shows_its_size_and_messages(mail, dovecot):
    deliver(dovecot, "alice@acme.test", "First", "x" * 5000)
    deliver(dovecot, "alice@acme.test", "Second", "y" * 3000)
    dovecot.wait_for_messages("alice@acme.test", PW, 2)
    alice, bob = mailbox("alice@acme.test"), mailbox("bob@acme.test")

    summary = round_on(mail)
    assert summary["state"] == "SUCCESS", summary
    size, messages = on_disk(maildir(dovecot, "alice@acme.test"))
    assert messages == 2 and size > 8000
    assert reading(alice, Metric.MAIL_BYTES) == size
    assert reading(alice, Metric.MAIL_MESSAGES) == 2
    assert rollups(alice, Metric.MAIL_BYTES) == {"hour": size, "day": size}
    assert rollups(alice, Metric.MAIL_MESSAGES) == {"hour": 2, "day": 2}
    assert reading(bob, Metric.MAIL_BYTES) == 0 and reading(bob, Metric.MAIL_MESSAGES) == 0
    assert summary["values"] == 4


def test_a_second_round_replaces_the_reading_and_the_hour_keeps_its_highest(mail, dovecot):
    for i in range(3):
        deliver(dovecot, "alice@acme.test", f"Message {i}", "z" * 4000)
    dovecot.wait_for_messages("alice@acme.test", PW, 3)
    alice = mailbox("alice@acme.test")
    round_on(mail)
    full, _ = on_disk(maildir(dovecot, "alice@acme.test"))
    assert reading(alice, Metric.MAIL_MESSAGES) == 3

    folder = maildir(dovecot, "alice@acme.test")
    gone = next(f for sub in ("cur", "new") for f in (folder / sub).iterdir())
    gone.unlink()  # as an expunge does
    less, _ = on_disk(maildir(dovecot, "alice@acme.test"))
    assert less < full
    round_on(mail)
    highest_kept(alice, Metric.MAIL_BYTES, full, less)
    highest_kept(alice, Metric.MAIL_MESSAGES, 3, 2)


HOSTILE = (
    ".evil\nhostdeck-usage\tmail\tMailbox\t{bob}\tmail_bytes\t999999999",
    ".tab\there",
    ".x\thostdeck-usage\tmail\tMailbox\t{bob}\tmail_messages\t77",
)


def test_a_hostile_folder_name_adds_nothing_to_another_mailbox(mail, dovecot):
    deliver(dovecot, "bob@acme.test", "For bob", "b" * 2000)
    deliver(dovecot, "alice@acme.test", "For alice", "a" * 2000)
    dovecot.wait_for_messages("bob@acme.test", PW, 1)
    dovecot.wait_for_messages("alice@acme.test", PW, 1)
    alice, bob = mailbox("alice@acme.test"), mailbox("bob@acme.test")
    home = maildir(dovecot, "alice@acme.test")
    for name in HOSTILE:
        cur = home / name.format(bob=bob.id) / "cur"
        cur.mkdir(parents=True)
        (cur / "1.M1.host:2,S").write_bytes(b"h" * 10_000)
        # A message whose file name tries the same from inside cur/.
        forged = f"2.M2.host\nhostdeck-usage\tmail\tMailbox\t{bob.id}\tmail_messages\t5"
        (cur / forged).write_bytes(b"n" * 10_000)
    # And a folder of bob's name under alice's home that is not a home of its own.
    fake = home / "acme.test" / "bob" / "Maildir" / "cur"
    fake.mkdir(parents=True)
    (fake / "3.M3.host:2,S").write_bytes(b"f" * 10_000)

    assert round_on(mail)["state"] == "SUCCESS"
    bob_size, bob_messages = on_disk(maildir(dovecot, "bob@acme.test"))
    assert bob_messages == 1 and bob_size < 10_000
    assert (reading(bob, Metric.MAIL_BYTES), reading(bob, Metric.MAIL_MESSAGES)) == (bob_size, 1)
    # Alice's own folders and files are hers, oddly named or not.
    alice_size, alice_messages = on_disk(home)
    assert alice_messages == 1 + 2 * len(HOSTILE)
    assert (reading(alice, Metric.MAIL_BYTES), reading(alice, Metric.MAIL_MESSAGES)) == (alice_size, alice_messages)


def test_a_round_waits_for_applies_due_unless_forced(mail, dovecot):
    alice = mailbox("alice@acme.test")
    db.session.add(mailbox_operation(mail.id, alice.id, state=OpState.PENDING, account_id=alice.account_id))
    db.session.commit()
    assert round_on(mail) == {"server": mail.id, "log": None, "state": "deferred"}
    assert reading(alice, Metric.MAIL_BYTES) is None
    assert round_on(mail, force=True)["state"] == "SUCCESS"
    assert reading(alice, Metric.MAIL_BYTES) == 0


def test_flask_usage_collect_prints_the_rounds_summary(app, mail, dovecot):
    deliver(dovecot, "bob@acme.test", "Hello", "hi")
    dovecot.wait_for_messages("bob@acme.test", PW, 1)
    result = app.test_cli_runner().invoke(args=["usage", "collect", "--server", "mail1"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    entry = db.session.scalars(sa.select(BackendLog).where(BackendLog.backends == "usage:mail")).one()
    assert result.output == f"mail1: SUCCESS, 4 values (log {entry.id})\n"
    assert reading(mailbox("bob@acme.test"), Metric.MAIL_MESSAGES) == 1
    missing = app.test_cli_runner().invoke(args=["usage", "collect", "--server", "nowhere"])
    assert missing.exit_code == 1 and "no server nowhere" in missing.output


def test_a_server_measures_only_the_mailboxes_placed_on_it(mail, dovecot, tmp_path):
    """mx2 runs Dovecot too, but Acme is placed on mail1: mx2's round does not ask about its mailboxes."""
    other = add_server(local_mail_server("mx2", tmp_path), "dovecot")
    own_state_dir(other, tmp_path)
    alice = mailbox("alice@acme.test")
    db.session.add(Placement(account_id=alice.account_id, server_id=mail.id))
    db.session.commit()
    assert round_on(other) == {"server": other.id, "log": other_log(other), "state": "SUCCESS", "values": 0}
    assert (
        "acme.test"
        not in db.session.scalars(sa.select(BackendLog.script).where(BackendLog.server_id == other.id)).one()
    )
    assert round_on(mail)["values"] == 4


def other_log(server) -> int:
    return db.session.scalar(sa.select(BackendLog.id).where(BackendLog.server_id == server.id))


def test_mail_root_may_be_a_link(app, make_account, tmp_path):
    """The operator's mail_root a symlink to where the mail is (on the local transport, no Dovecot)."""
    server = add_server(local_mail_server("mx3", tmp_path, mail_root=str(tmp_path / "vmail")), "dovecot")
    own_state_dir(server, tmp_path)
    (tmp_path / "vmail").symlink_to(tmp_path / "mail-disk")
    cur = tmp_path / "mail-disk" / "acme.test" / "carol" / "Maildir" / "cur"
    cur.mkdir(parents=True)
    (cur / "1.M1.host:2,S").write_bytes(b"c" * 1234)
    account = make_account("Acme", domains=("acme.test",))
    domain = db.session.scalar(sa.select(Domain))
    carol = Mailbox(account=account, domain=domain, local_part="carol", status=Status.APPLIED)
    db.session.add(carol)
    db.session.commit()
    assert round_on(server)["state"] == "SUCCESS"
    assert (reading(carol, Metric.MAIL_BYTES), reading(carol, Metric.MAIL_MESSAGES)) == (1234, 1)


def test_listing_a_servers_mailboxes_is_one_query_however_many(mail):
    alice = mailbox("alice@acme.test")
    db.session.add_all(
        [
            Mailbox(account_id=alice.account_id, domain=alice.domain, local_part=f"box{i}", status=Status.APPLIED)
            for i in range(40)
        ]
    )
    db.session.commit()
    db.session.refresh(mail)
    for collector in COLLECTORS:
        with counted() as statements:
            found = collector.targets(mail)
        # The placements (none here: then nothing more about accounts), the routes, the objects.
        assert len(statements) <= 3, "\n\n".join(statements)
        if collector.name == "mail":
            assert len(found) == 42


# Homes and web apps


@pytest.fixture
def site(web, make_account, webstack, work, tmp_path):
    """Acme's SFTP user web with its static app site, applied on web1 (over the test sshd)."""
    own_state_dir(webstack, tmp_path)
    make_account("Acme")
    web.login("acme@owner.test")
    user = new_system_user(web, work, "web")
    assert new_web_app(web, user, "site", kind="static").status_code == 302
    work()
    app = db.session.scalar(sa.select(WebApp))
    assert user.status == Status.APPLIED and app.status == Status.APPLIED, (user.last_error, app.last_error)
    return webstack


def test_a_home_and_a_web_app_folder_show_their_disk_use(site):
    user, app = db.session.scalar(sa.select(SystemUser)), db.session.scalar(sa.select(WebApp))
    home = Path(site.settings["web_home_root"]) / user.name
    write(home / "webapps" / "site" / "big.bin", 2 * MIB)
    write(home / "notes.bin", MIB)
    # A link in the app's folder to something big elsewhere counts as the link alone.
    os.symlink("/usr", home / "webapps" / "site" / "usr")

    summary = round_on(site)
    assert summary["state"] == "SUCCESS", summary
    in_app, in_home = reading(app, Metric.DISK_BYTES), reading(user, Metric.DISK_BYTES)
    assert 2 * MIB <= in_app < 2 * MIB + 64 * 1024
    assert in_app + MIB <= in_home < in_app + MIB + 64 * 1024
    assert rollups(app, Metric.DISK_BYTES) == {"hour": in_app, "day": in_app}

    (home / "webapps" / "site" / "big.bin").unlink()
    round_on(site)
    smaller = reading(app, Metric.DISK_BYTES)
    assert smaller < MIB
    highest_kept(app, Metric.DISK_BYTES, in_app, smaller)


def write(path: Path, size: int) -> None:
    path.write_bytes(os.urandom(size))


def test_a_user_whose_home_is_not_there_yet_reads_zero(site, web_server):
    user = db.session.scalar(sa.select(SystemUser))
    other = SystemUser(account_id=user.account_id, name=f"{user.name}x", status=Status.PENDING)
    db.session.add(other)
    db.session.commit()
    assert round_on(site)["state"] == "SUCCESS"
    assert reading(other, Metric.DISK_BYTES) == 0


# Databases


@pytest.fixture
def db_server(app, sshd, mariadb, postgres, tmp_path):
    server = ssh_server(
        "db1",
        sshd,
        mariadb_host=mariadb.host,
        mariadb_port=mariadb.port,
        mariadb_admin="root",
        mariadb_user_host="127.0.0.1",
        usage_state_dir=str(tmp_path / "usage-db1"),
        **postgres.settings(),
    )
    return add_server(server, "mariadb", "postgresql")


@pytest.fixture
def databases(make_account, web, db_server, work):
    """The customer's blog on MariaDB and shop on PostgreSQL, applied on db1."""
    account = make_account(RUN)
    web.login(f"{RUN}@owner.test")
    for engine, name in (("mariadb", "blog"), ("postgresql", "shop")):
        response = web.submit("/databases/", {"engine": engine, "name": name}, post_url="/databases/new")
        assert response.status_code == 302
    work()
    prefix = name_prefix(account.name, account.id)
    found = {d.engine.value: d for d in db.session.scalars(sa.select(Database))}
    assert {d.name for d in found.values()} == {f"{prefix}_blog", f"{prefix}_shop"}
    assert all(d.status == Status.APPLIED for d in found.values()), [d.last_error for d in found.values()]
    return found


def test_databases_with_a_table_of_rows_show_their_size(databases, db_server, mariadb, postgres):
    blog, shop = databases["mariadb"], databases["postgresql"]
    round_on(db_server)
    empty_blog, empty_shop = reading(blog, Metric.DATABASE_BYTES), reading(shop, Metric.DATABASE_BYTES)
    assert empty_blog == 0  # no tables yet
    assert empty_shop > 0  # a PostgreSQL database is its catalog too

    mariadb.query(f"CREATE TABLE `{blog.name}`.posts (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB")
    for start in range(0, 2000, 500):
        rows = ",".join(f"({i}, REPEAT('b', 500))" for i in range(start, start + 500))
        mariadb.query(f"INSERT INTO `{blog.name}`.posts VALUES {rows}")
    mariadb.query(f"ANALYZE TABLE `{blog.name}`.posts")
    postgres.psql(
        "CREATE TABLE items (id INT PRIMARY KEY, body TEXT);"
        "INSERT INTO items SELECT i, repeat('s', 500) FROM generate_series(1, 2000) AS i;",
        database=shop.name,
    )
    summary = round_on(db_server)
    assert summary["state"] == "SUCCESS", summary
    expected_blog = mariadb.query(
        "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = %s", blog.name
    )[0][0]
    expected_shop = int(postgres.psql(f"SELECT pg_database_size('{shop.name}');").stdout)
    assert reading(blog, Metric.DATABASE_BYTES) == int(expected_blog) > 2000 * 500
    assert reading(shop, Metric.DATABASE_BYTES) == expected_shop > empty_shop + 2000 * 500
    assert set(rollups(shop, Metric.DATABASE_BYTES)) == {"hour", "day"}


def test_one_query_per_engine_and_a_database_not_made_yet_reads_zero(databases, db_server):
    blog, shop = databases["mariadb"], databases["postgresql"]
    pending = Database(account_id=blog.account_id, engine=blog.engine, name=f"{blog.name}x", status=Status.PENDING)
    db.session.add(pending)
    db.session.commit()
    summary = round_on(db_server)
    assert summary["state"] == "SUCCESS", summary
    assert reading(pending, Metric.DATABASE_BYTES) == 0
    assert reading(blog, Metric.DATABASE_BYTES) == 0 and reading(shop, Metric.DATABASE_BYTES) > 0
    script = db.session.scalar(sa.select(BackendLog.script).where(BackendLog.id == summary["log"]))
    assert script.count("information_schema.tables") == 1 and script.count("pg_database_size") == 1
    assert script.count(shop.name) == 1  # PostgreSQL's query only


def test_a_round_while_another_holds_the_servers_lock_reads_nothing_and_is_no_failure(mail, dovecot):
    """Two rounds of one server never overlap: the second finds the lock taken and stops, in words."""
    state = Path(db.session.get(type(mail), mail.id).setting("usage_state_dir"))
    state.mkdir(parents=True, exist_ok=True)
    with open(state / ".round.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        summary = round_on(mail)
    assert summary["state"] == "WARNING" and summary["values"] == 0
    entry = db.session.get(BackendLog, summary["log"])
    assert entry.error == "another usage round was running on this server"
    assert reading(mailbox("alice@acme.test"), Metric.MAIL_BYTES) is None
    assert round_on(mail)["state"] == "SUCCESS"  # once the lock is free
