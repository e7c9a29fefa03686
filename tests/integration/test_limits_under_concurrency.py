"""Limits hold under concurrency on every database: ten creates at once with one slot left give one
success and nine refusals in plain words, never a 500, for every limited kind, on PostgreSQL and on
a SQLite file (the demo's database, with its in-process jobs)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import LIMITS, Account, BackendLog, Route, Server, Status, SystemUser
from portal.models.kinds import counted
from tests.helpers import MAILBOX_PASSWORD, WEB_PASSWORD, Web, account_named, count, domain_id
from tests.testbed.plugin import need

PARALLEL = 10
BACKENDS = ("dovecot", "postfix", "mariadb", "unix", "phpfpm")


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    """A SQLite file with the committed migrations, as `make run` has."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'hostdeck.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, migrated, sqlite_url):
    if request.param == "sqlite":
        return sqlite_url
    need(migrated.startswith("postgresql"), "PostgreSQL (TEST_DATABASE_URL)")
    return migrated


@pytest.fixture
def app_config(database):
    # No Redis: every job runs in the process right after its commit, as in the demo.
    return {"DATABASE_URL": database, "REDIS_URL": "", "RESERVED_TLDS_VERIFIED": True}


@pytest.fixture
def acme(app, make_account):
    """Customer Acme (acme.test) and one server for every backend. It has no pinned host key, so the
    job each create runs in the process (the demo's way) records its error at once, and nothing
    reaches a machine."""
    server = Server(name="web1", host="127.0.0.1", transport="ssh", settings={})
    db.session.add_all([server, *(Route(backend=backend, server=server) for backend in BACKENDS)])
    make_account("Acme", domains=("acme.test",))
    return account_named("Acme")


def _system_user(account: Account) -> int:
    user = SystemUser(account_id=account.id, name="acme_web", shell="sftp", status=Status.APPLIED)
    db.session.add(user)
    db.session.commit()
    return user.id


# The form that creates one of a limited kind: (the page it is on, where it posts, its fields for
# the i-th attempt).
Form = tuple[str, str, Callable[[int], dict]]


def _form(account: Account, limit: str) -> Form:
    domain = domain_id("acme.test")

    def mailbox(i: int) -> dict:
        quota = 10  # the least a mailbox may have
        return {
            "local_part": f"box{i}",
            "domain_id": domain,
            "password": MAILBOX_PASSWORD,
            "confirm": MAILBOX_PASSWORD,
            "quota_mb": quota,
        }

    def web_app() -> Form:
        user_id = _system_user(account)
        return (
            "/webapps/new",
            "/webapps/new",
            lambda i: {"name": f"app{i}", "system_user_id": user_id, "kind": "php", "php_version": "8.2"},
        )

    forms: dict[str, Callable[[], Form]] = {
        "domains": lambda: ("/domains/", "/domains/", lambda i: {"name": f"shop{i}.test"}),
        "mailboxes": lambda: ("/mailboxes/new", "/mailboxes/new", mailbox),
        "quota_mb": lambda: ("/mailboxes/new", "/mailboxes/new", mailbox),
        "addresses": lambda: (
            "/addresses/new",
            "/addresses/new",
            lambda i: {"local_part": f"alias{i}", "domain_id": domain, "forwards": "someone@elsewhere.example"},
        ),
        "databases": lambda: ("/databases/", "/databases/new", lambda i: {"engine": "mariadb", "name": f"db{i}"}),
        "system_users": lambda: (
            "/system-users/new",
            "/system-users/new",
            lambda i: {"name": f"user{i}", "password": WEB_PASSWORD, "confirm": WEB_PASSWORD, "shell": "sftp"},
        ),
        "web_apps": web_app,
    }
    assert limit in forms, f"a new limit, {limit}: add the form that creates one here"
    return forms[limit]()


@pytest.mark.parametrize("limit", list(LIMITS))  # every limited kind, from the kinds registry
def test_ten_creates_with_one_slot_left_give_one_success(app, acme, limit):
    page, post_url, fields = _form(acme, limit)
    # One slot left: what is in use already (acme.test, the web app's system user), plus one create.
    allowed = acme.used(limit) + (10 if limit == "quota_mb" else 1)
    setattr(acme, f"max_{limit}", allowed)
    db.session.commit()

    # Ten tabs of one login, each with the form open; then they all send it at once.
    web = Web(app.test_client())
    web.login("acme@owner.test")
    token, cookie = web.token(page), web.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    tabs = [app.test_client() for _ in range(PARALLEL)]
    for tab in tabs:
        tab.set_cookie(cookie.key, cookie.value)
    db.session.commit()  # the test's own session holds nothing while the requests run
    start, answers = threading.Barrier(PARALLEL), [None] * PARALLEL

    def send(i: int) -> None:
        with app.app_context():  # the client tidies a session of its own after the request
            start.wait()
            response = tabs[i].post(post_url, data={**fields(i), "csrf_token": token})
        answers[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers), "a request did not finish"

    statuses = sorted(status for status, _ in answers)
    assert 500 not in statuses
    created = [body for status, body in answers if status == 302]
    refused = [body for status, body in answers if status != 302]
    refusal = f"Your plan allows {counted(limit, allowed)} and {allowed} {'is' if allowed == 1 else 'are'} in use."
    assert len(created) == 1, f"{len(created)} of {PARALLEL} were created: {statuses}"
    assert all(refusal in body for body in refused), [b[:300] for b in refused if refusal not in b]
    db.session.expire_all()
    used = db.session.scalar(sa.select(getattr(Account, f"used_{limit}")).where(Account.id == acme.id))
    assert used == allowed
    assert count(BackendLog) == 1  # the one create's job ran in the process, beside the other requests
