"""Databases and their users on the machine's MariaDB and a real PostgreSQL, through the forms and
a real worker over SSH: logins with the password, grants, deletion, names, logs, tenancy."""

import re
import secrets

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, BackendLog, Database, DatabaseUser, Operation, Status
from portal.models.accounts import name_prefix
from portal.orchestration import verifiers
from tests.helpers import Web, change_password, count, page_text

RUN = "t" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))  # names on the shared
# MariaDB are this run's own; letters only, as a prefix keeps only the letters of the name
P1, P2 = "first-Pässwörd-1", "second password 2"
ENGINES = ["mariadb", "postgresql"]


@pytest.fixture
def customer(make_account, web, db_server) -> Account:
    account = make_account(RUN)
    web.login(f"{RUN}@owner.test")
    return account


def prefix(account: Account) -> str:
    return name_prefix(account.name, account.id)


# How a server refuses a login. MariaDB says it with an error code; psycopg reports no SQLSTATE for a
# refused connection, so PostgreSQL's is read from the server's message.
WRONG_PASSWORD = "wrong password"  # MariaDB 1045, PostgreSQL 28P01
NO_PASSWORD_CHECKED = "no password checked"  # MariaDB 1698
NOT_GRANTED = "not granted that database"  # MariaDB 1044, PostgreSQL 42501
NO_SUCH_DATABASE = "no such database"  # MariaDB 1049, PostgreSQL 3D000
LOCKED = "locked"  # MariaDB 4151 (ACCOUNT LOCK), PostgreSQL 28000 (NOLOGIN)
MARIADB_REFUSALS = {
    1045: WRONG_PASSWORD,
    1698: NO_PASSWORD_CHECKED,
    1044: NOT_GRANTED,
    1049: NO_SUCH_DATABASE,
    4151: LOCKED,
}
POSTGRES_REFUSALS = {
    r'FATAL:  password authentication failed for user "[^"]+"': WRONG_PASSWORD,
    r'FATAL:  permission denied for database "[^"]+"': NOT_GRANTED,
    r'FATAL:  database "[^"]+" does not exist': NO_SUCH_DATABASE,
    r'FATAL:  role "[^"]+" is not permitted to log in': LOCKED,
}
# Neither server says that a user does not exist. PostgreSQL answers as for a wrong password; MariaDB
# makes up an auth plugin from the name and answers 1045 or 1698, depending on the name.
NO_SUCH_USER = {WRONG_PASSWORD, NO_PASSWORD_CHECKED}


def login(engine: str, mariadb, postgres, user: str, password: str, database: str) -> str | None:
    """None if the user gets in, else which refusal the server answered; any other error fails the test."""
    try:
        if engine == "mariadb":
            mariadb.connect(user=user, password=password, database=database).close()
        else:
            psycopg.connect(
                host=postgres.host, port=postgres.port, user=user, password=password, dbname=database, connect_timeout=5
            ).close()
    except pymysql.MySQLError as exc:
        if exc.args[0] in MARIADB_REFUSALS:
            return MARIADB_REFUSALS[exc.args[0]]
        raise AssertionError(f"MariaDB refused {user} on {database} in an unexpected way: {exc}") from exc
    except psycopg.Error as exc:
        for pattern, refusal in POSTGRES_REFUSALS.items():
            if re.search(pattern, str(exc)):
                return refusal
        raise AssertionError(f"PostgreSQL refused {user} on {database} in an unexpected way: {exc}") from exc
    return None


def create_table(engine: str, mariadb, postgres, user: str, password: str, database: str) -> None:
    if engine == "mariadb":
        with mariadb.connect(user=user, password=password, database=database) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(100))")
            cur.execute("INSERT INTO posts VALUES (1, 'hello')")
    else:
        with psycopg.connect(
            host=postgres.host, port=postgres.port, user=user, password=password, dbname=database, autocommit=True
        ) as conn:
            conn.execute("CREATE TABLE posts (id INT PRIMARY KEY, title TEXT)")
            conn.execute("INSERT INTO posts VALUES (1, 'hello')")


def new_database(web, engine: str, name: str):
    return web.submit("/databases/", {"engine": engine, "name": name}, post_url="/databases/new")


def new_user(web, engine: str, name: str, password: str = P1, databases=()):
    return web.submit(
        "/databases/users/new",
        {
            "engine": engine,
            "name": name,
            "password": password,
            "confirm": password,
            "databases": [str(i) for i in databases],
        },
    )


def one(model, name: str):
    return db.session.scalar(sa.select(model).where(model.name == name))


@pytest.mark.parametrize("engine", ENGINES)
def test_create_connect_and_change_the_password(engine, web, customer, mariadb, postgres, work):
    p = prefix(customer)
    assert new_database(web, engine, "blog").status_code == 302
    database = one(Database, f"{p}_blog")
    assert new_user(web, engine, "app", databases=[database.id]).status_code == 302
    user = one(DatabaseUser, f"{p}_app")
    assert work() == 1
    db.session.refresh(database)
    db.session.refresh(user)
    assert (database.status, user.status) == (Status.APPLIED, Status.APPLIED), (database.last_error, user.last_error)
    assert database.size_bytes is not None and database.size_at is not None

    create_table(engine, mariadb, postgres, f"{p}_app", P1, f"{p}_blog")

    assert change_password(web, f"/databases/users/{user.id}", P2).status_code == 302
    work()
    assert login(engine, mariadb, postgres, f"{p}_app", P2, f"{p}_blog") is None
    assert login(engine, mariadb, postgres, f"{p}_app", P1, f"{p}_blog") == WRONG_PASSWORD
    # Every verifier was wiped once applied, and no log kept one.
    assert count(Operation, Operation.secret.is_not(None)) == 0
    logs = " ".join(f"{e.script} {e.stdout} {e.stderr}" for e in db.session.scalars(sa.select(BackendLog)))
    assert "[redacted]" in logs
    assert verifiers.mariadb("ed25519", P1) not in logs and "SCRAM-SHA-256$" not in logs
    assert P1 not in logs and P2 not in logs

    page = web.get("/databases/").get_data(as_text=True)
    assert f"{p}_blog" in page and f"{p}_app" in page and "Applied" in page
    assert web.submit("/databases/", {}, post_url="/databases/sizes").status_code == 302
    work()
    db.session.refresh(database)
    assert database.size_bytes > 0 and database.status == Status.APPLIED


@pytest.mark.parametrize("engine", ENGINES)
def test_a_user_reaches_only_the_databases_it_is_granted(engine, web, customer, mariadb, postgres, work):
    p = prefix(customer)
    new_database(web, engine, "shop")
    new_database(web, engine, "wiki")
    shop, wiki = one(Database, f"{p}_shop"), one(Database, f"{p}_wiki")
    new_user(web, engine, "shopapp", databases=[shop.id])
    user = one(DatabaseUser, f"{p}_shopapp")
    work()
    assert login(engine, mariadb, postgres, user.name, P1, shop.name) is None
    assert login(engine, mariadb, postgres, user.name, P1, wiki.name) == NOT_GRANTED

    web.submit(
        f"/databases/users/{user.id}", {"databases": [str(wiki.id)]}, post_url=f"/databases/users/{user.id}/grants"
    )
    work()
    assert login(engine, mariadb, postgres, user.name, P1, wiki.name) is None
    assert login(engine, mariadb, postgres, user.name, P1, shop.name) == NOT_GRANTED


@pytest.mark.parametrize("engine", ENGINES)
def test_deleting_a_database_drops_it_and_only_the_users_nothing_else_needs(
    engine, web, customer, mariadb, postgres, work
):
    p = prefix(customer)
    new_database(web, engine, "old")
    new_database(web, engine, "keep")
    old, keep = one(Database, f"{p}_old"), one(Database, f"{p}_keep")
    new_user(web, engine, "only", databases=[old.id])
    new_user(web, engine, "both", databases=[old.id, keep.id])
    work()
    create_table(engine, mariadb, postgres, f"{p}_both", P1, old.name)

    page = web.get(f"/databases/{old.id}/delete").get_data(as_text=True)
    assert f"{p}_only" in page.split('id="users-going"')[1].split("</p>")[0]
    assert f"{p}_both" in page.split('id="users-staying"')[1].split("</p>")[0]
    assert web.submit(f"/databases/{old.id}/delete", {}).status_code == 302
    work()
    assert one(Database, f"{p}_old") is None and one(DatabaseUser, f"{p}_only") is None
    assert one(DatabaseUser, f"{p}_both").status == Status.APPLIED
    # MariaDB checks the grant before the database, and the grant went with it (SHOW DATABASES below).
    gone = {"mariadb": NOT_GRANTED, "postgresql": NO_SUCH_DATABASE}[engine]
    assert login(engine, mariadb, postgres, f"{p}_both", P1, f"{p}_old") == gone
    assert login(engine, mariadb, postgres, f"{p}_both", P1, keep.name) is None
    assert login(engine, mariadb, postgres, f"{p}_only", P1, keep.name) in NO_SUCH_USER
    if engine == "mariadb":
        assert not mariadb.query("SHOW DATABASES LIKE %s", f"{p}\\_old")
        assert not mariadb.query("SELECT 1 FROM mysql.user WHERE User = %s", f"{p}_only")
        assert not mariadb.query("SELECT 1 FROM mysql.db WHERE Db LIKE %s", f"{p}%old")  # no grant left behind
    else:
        assert postgres.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{p}_old'").stdout.strip() == "0"
        assert (
            postgres.psql(f"SELECT count(*) FROM pg_roles WHERE rolname IN ('{p}_only', '{p}_old')").stdout.strip()
            == "0"
        )


LOWERCASE = "Use lowercase letters a-z, digits and _ only"
BAD = ["bl'og", "bl`og", "blog;drop", "bl%og", "my blog", "Blog", 'bl"og', "blog\\", "bl-og", "_blog", ""]


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_names_are_refused(engine, web, customer):
    p = prefix(customer)
    longest = {"mariadb": 64, "postgresql": 63}[engine] - len(p) - 1
    refusals = dict.fromkeys(BAD, LOWERCASE) | {"": "This field is required.", "x" * (longest + 1): "allows names"}
    for name, message in refusals.items():
        for response in (new_database(web, engine, name), new_user(web, engine, name)):
            assert response.status_code == 400, name
            text = response.get_data(as_text=True)
            assert "is-invalid" in text or "alert-danger" in text, name
            assert message in text, name
    assert count(Database) == 0
    assert count(DatabaseUser) == 0
    assert count(Operation) == 0
    # The longest allowed name is fine.
    assert new_database(web, engine, "x" * longest).status_code == 302


def test_names_are_unique_per_engine_and_grants_stay_within_one(web, customer, work):
    p = prefix(customer)
    new_database(web, "mariadb", "app")
    new_database(web, "postgresql", "app")  # another engine, another server: fine
    assert f"You already have a MariaDB database named {p}_app." in page_text(new_database(web, "mariadb", "app"))
    # On PostgreSQL a database's owner role has its name, so no user may take it.
    assert f"You already have a PostgreSQL database named {p}_app." in page_text(new_user(web, "postgresql", "app"))
    maria = db.session.scalar(sa.select(Database).where(Database.name == f"{p}_app", Database.engine == "mariadb"))
    refused = new_user(web, "postgresql", "pgapp", databases=[maria.id])
    assert refused.status_code == 400 and "one engine" in page_text(refused)
    assert one(DatabaseUser, f"{p}_pgapp") is None


def test_no_plaintext_password_in_any_server_log(web, customer, mariadb, postgres, work):
    p = prefix(customer)
    secrets_used = ["plain-Text-Secret-1", "plain-Text-Secret-2", "plain-Text-Secret-3", "plain-Text-Secret-4"]
    pg_log_start = postgres.log_path.stat().st_size
    with mariadb.general_log() as general_log:
        for engine, (first, second) in zip(ENGINES, (secrets_used[:2], secrets_used[2:]), strict=True):
            new_database(web, engine, "logged")
            database = db.session.scalar(sa.select(Database).where(Database.engine == engine))
            new_user(web, engine, "logger", password=first, databases=[database.id])
            work()
            user = db.session.scalar(sa.select(DatabaseUser).where(DatabaseUser.engine == engine))
            change_password(web, f"/databases/users/{user.id}", second)
            work()
            assert login(engine, mariadb, postgres, user.name, second, database.name) is None
        maria_log = general_log()
    pg_log = postgres.log_path.read_bytes()[pg_log_start:].decode(errors="replace")
    assert f"{p}_logger" in maria_log and "IDENTIFIED VIA ed25519 USING '" in maria_log  # the log was on
    assert "PASSWORD(" not in maria_log.upper()
    assert "ALTER ROLE" in pg_log and "SCRAM-SHA-256$" in pg_log
    for secret in secrets_used:
        assert secret not in maria_log and secret not in pg_log


def stored(mariadb, user: str) -> tuple[str, str]:
    """(plugin, authentication_string) of a user on the MariaDB server."""
    rows = mariadb.query("SELECT plugin, authentication_string FROM mysql.user WHERE User = %s", user)
    assert len(rows) == 1, rows
    return rows[0]


def test_users_log_in_with_ed25519_by_default(web, customer, db_server, mariadb, postgres, work):
    assert "mariadb_auth" not in db_server.settings
    p = prefix(customer)
    new_database(web, "mariadb", "edb")
    for user in ("eduser", "edtwin"):  # two users, one password
        new_user(web, "mariadb", user, databases=[one(Database, f"{p}_edb").id])
    work()
    plugin, verifier = stored(mariadb, f"{p}_eduser")
    assert plugin == "ed25519" and verifier == verifiers.mariadb("ed25519", P1)
    assert login("mariadb", mariadb, postgres, f"{p}_eduser", P1, f"{p}_edb") is None
    assert login("mariadb", mariadb, postgres, f"{p}_eduser", P2, f"{p}_edb") == WRONG_PASSWORD
    # ed25519 on MariaDB 10 has no salt: the same password gives the same verifier. Only parsec salts.
    assert stored(mariadb, f"{p}_edtwin") == (plugin, verifier)


def test_mysql_native_password_only_when_the_server_asks_for_it(web, customer, db_server, mariadb, postgres, work):
    db_server.settings = {**db_server.settings, "mariadb_auth": "mysql_native_password"}
    db.session.commit()
    p = prefix(customer)
    new_database(web, "mariadb", "ndb")
    new_user(web, "mariadb", "nuser", databases=[one(Database, f"{p}_ndb").id])
    work()
    assert stored(mariadb, f"{p}_nuser") == ("mysql_native_password", verifiers.mariadb("mysql_native_password", P1))
    assert login("mariadb", mariadb, postgres, f"{p}_nuser", P1, f"{p}_ndb") is None
    assert login("mariadb", mariadb, postgres, f"{p}_nuser", P2, f"{p}_ndb") == WRONG_PASSWORD


def test_a_verifier_is_applied_with_the_plugin_it_was_made_for(web, customer, db_server, mariadb, postgres, work):
    """The setting changes between the form and the worker: the pending verifier still logs in."""
    p = prefix(customer)
    new_database(web, "mariadb", "mdb")
    new_user(web, "mariadb", "muser", databases=[one(Database, f"{p}_mdb").id])
    db_server.settings = {**db_server.settings, "mariadb_auth": "mysql_native_password"}
    db.session.commit()
    work()
    assert stored(mariadb, f"{p}_muser")[0] == "ed25519"
    assert login("mariadb", mariadb, postgres, f"{p}_muser", P1, f"{p}_mdb") is None


def test_parsec_on_a_server_without_it_fails_in_plain_words(web, customer, db_server, mariadb, work):
    """MariaDB 10.11 has no auth_parsec (it came in 11.6): the user fails with the server's reason."""
    if mariadb.query("SELECT 1 FROM information_schema.plugins WHERE plugin_name = 'parsec'"):
        pytest.skip("this MariaDB has parsec")
    db_server.settings = {**db_server.settings, "mariadb_auth": "parsec"}
    db.session.commit()
    p = prefix(customer)
    new_user(web, "mariadb", "puser")
    work()
    user = one(DatabaseUser, f"{p}_puser")
    assert user.status == Status.FAILED
    assert "auth_parsec" in user.last_error, user.last_error
    assert mariadb.query("SELECT 1 FROM mysql.user WHERE User = %s", f"{p}_puser") == []


def test_suspension_locks_database_users(app, web, customer, make_staff, mariadb, postgres, work):
    p = prefix(customer)
    for engine in ENGINES:
        new_database(web, engine, "susp")
        database = db.session.scalar(sa.select(Database).where(Database.engine == engine))
        new_user(web, engine, f"s{engine[:2]}", databases=[database.id])
    work()
    make_staff()
    staff_web = Web(app.test_client())
    staff_web.login("staff@hostdeck.test")
    staff_web.submit(f"/staff/accounts/{customer.id}", {}, post_url=f"/staff/accounts/{customer.id}/suspend")
    work()
    assert login("mariadb", mariadb, postgres, f"{p}_sma", P1, f"{p}_susp") == LOCKED
    assert login("postgresql", mariadb, postgres, f"{p}_spo", P1, f"{p}_susp") == LOCKED
    staff_web.submit(f"/staff/accounts/{customer.id}", {}, post_url=f"/staff/accounts/{customer.id}/resume")
    work()
    assert login("mariadb", mariadb, postgres, f"{p}_sma", P1, f"{p}_susp") is None
    assert login("postgresql", mariadb, postgres, f"{p}_spo", P1, f"{p}_susp") is None


def test_another_accounts_databases_and_users_are_404(web, customer, make_account, work):
    other = make_account("Other")
    theirs = Database(account=other, engine="mariadb", name=f"other{other.id}_db", status=Status.APPLIED)
    their_user = DatabaseUser(
        account=other, engine="mariadb", name=f"other{other.id}_u", status=Status.APPLIED, databases=[theirs]
    )
    db.session.add_all([theirs, their_user])
    db.session.commit()
    new_database(web, "mariadb", "mine")
    mine = one(Database, f"{prefix(customer)}_mine")
    new_user(web, "mariadb", "me", databases=[mine.id])
    me = one(DatabaseUser, f"{prefix(customer)}_me")

    for url in (
        f"/databases/users/{their_user.id}",
        f"/databases/{theirs.id}/delete",
        f"/databases/users/{their_user.id}/delete",
    ):
        assert web.get(url).status_code == 404, url
    # Granting someone else's database: 404, on create and on edit, and nothing changes.
    assert new_user(web, "mariadb", "thief", databases=[theirs.id]).status_code == 404
    grab = web.submit(
        f"/databases/users/{me.id}",
        {"databases": [str(mine.id), str(theirs.id)]},
        post_url=f"/databases/users/{me.id}/grants",
    )
    assert grab.status_code == 404
    db.session.refresh(me)
    assert [d.id for d in me.databases] == [mine.id]
    assert one(DatabaseUser, f"{prefix(customer)}_thief") is None
    assert f"other{other.id}_db" not in web.get("/databases/").get_data(as_text=True)
