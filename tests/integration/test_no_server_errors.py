"""No input answers 500: odd ids, odd page numbers and filters, huge numbers, files where text is
expected, JSON bodies, bytes that are not UTF-8, out-of-range dates, HEAD and OPTIONS.

The walk goes over the url_map, so a new route or form field is walked without being listed here. An
unhandled exception is caught through Flask's got_request_exception signal (and the 500 it becomes),
so the walk reports every failure at once instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from itertools import cycle

import pytest
import sqlalchemy as sa
from flask import got_request_exception, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectFieldBase
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

from portal.blueprints.common import MAX_POLLED
from portal.blueprints.forms import INT_MAX, NOT_A_FILE, Form, WholeNumberField
from portal.extensions import db
from portal.models import (
    Address,
    BackendLog,
    Database,
    DatabaseUser,
    Domain,
    LogState,
    Mailbox,
    Plan,
    Role,
    Status,
    SystemUser,
    WebApp,
    Website,
)
from tests.helpers import Web
from tests.ids import by_arg, is_api

UNICODE_DIGITS = "\u0661\u0662"  # 12 in Arabic-Indic digits: int() takes them, an id must not
ODD_IDS = (0, -1, 2**31, 2**63, 2**64, 10**20, UNICODE_DIGITS, "9" * 5000, "%ff")
ODD_NUMBERS = ("-1", str(10**18), str(2**63), str(10**20), "x", UNICODE_DIGITS, "9" * 5000)
ODD_PAGES = ("0", *ODD_NUMBERS, "")
ODD_DAYS = ("9999-12-31", "0001-01-01", "99999-01-01", "2024-02-30", f"{UNICODE_DIGITS}34-01-01", "x", "")
# Every query-string name the pages read; each gets every odd value.
QUERY_NAMES = ("page", "users_page", "ids", "q", "account", "server", "state", "who", "action", "impersonated", "next")
ODD_IDS_LISTS = (f"{UNICODE_DIGITS},3", ",".join(["1"] * 5000), f"{2**63},{10**20},-1,0", "9" * 5000, "\x00")
HUGE = str(10**20)
# Posts that change who is logged in or what exists: walked last, so the rest sees the objects.
LAST = ("delete", "suspend", "resume", "logout", "stop", "switch", "start")
SKIPPED = {"static", "bootstrap.static"}
# 503 is what /readyz answers while a check fails (here: no SMTP_HOST to mail incidents), not an error.
NOT_READY = "/readyz"


@pytest.fixture
def app_config():
    return {}  # no Redis or SSH: the mailboxes apply on a local server, in the request


@pytest.fixture
def caught(app):
    """The unhandled exceptions of the requests, as (request, exception); the 500 page answers them."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    found: list[tuple[str, BaseException]] = []

    def note(sender, exception, **extra):
        found.append((f"{request.method} {request.full_path}", exception))

    got_request_exception.connect(note, app)
    yield found
    got_request_exception.disconnect(note, app)


@pytest.fixture
def people(make_account, make_staff, local_server):
    """A customer, a reseller with a sub-account, staff and an admin; one object of every kind each."""
    acme = make_account("Acme", domains=("acme.test",))
    resell = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=resell, email="owner@bakery.example.net")
    make_staff()
    make_staff("admin@hostdeck.test", role=Role.ADMIN)
    log = BackendLog(server_id=local_server.id, state=LogState.FAILURE)
    plan = Plan(name="Walk plan", max_mailboxes=3)
    db.session.add_all([log, plan])
    db.session.commit()
    staff_ids = ids_of([log, local_server, acme, plan])
    return {
        "acme@owner.test": _objects(acme, "acme"),
        "boss@resell.test": {**ids_of([bakery, bakery.users[0]]), **_objects(resell, "resell")},
        "staff@hostdeck.test": staff_ids,
        "admin@hostdeck.test": staff_ids,
    }


def _objects(account, tag: str) -> dict[str, int]:
    domain = db.session.scalar(sa.select(Domain).where(Domain.account_id == account.id))
    if domain is None:
        domain = Domain(account=account, name=f"{tag}.test", status=Status.APPLIED)
    mailbox = Mailbox(account=account, domain=domain, local_part="box", status=Status.APPLIED, quota_mb=10)
    address = Address(account=account, domain=domain, local_part="info", mailboxes=[mailbox], status=Status.APPLIED)
    user = SystemUser(account=account, name=f"{tag}1_web", status=Status.APPLIED)
    app = WebApp(account=account, system_user=user, name="site", kind="static", options={}, status=Status.APPLIED)
    website = Website(account=account, name=f"{tag} site", domains=[domain], status=Status.APPLIED)
    database = Database(account=account, engine="mariadb", name=f"{tag}1_db", status=Status.APPLIED)
    db_user = DatabaseUser(account=account, engine="mariadb", name=f"{tag}1_u", status=Status.APPLIED)
    db_user.databases = [database]
    db.session.add_all([domain, mailbox, address, user, app, website, database, db_user])
    db.session.commit()
    return ids_of([domain, mailbox, address, user, app, website, database, db_user])


def ids_of(objects) -> dict[str, int]:
    return {arg: obj.id for arg, obj in by_arg(objects).items()}


# What the forms hold, read from every form class of the portal


def _form_classes() -> Iterator[type[FlaskForm]]:
    seen, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen and sub.__module__.startswith("portal."):
                seen.add(sub)
                yield sub
            todo.append(sub)


def _fields(form_class) -> Iterator[tuple[str, UnboundField]]:
    for name in dir(form_class):
        field = getattr(form_class, name, None)
        if isinstance(field, UnboundField):
            yield name, field


FIELDS = {name: field for form in _form_classes() for name, field in _fields(form)}
NUMBER_FIELDS = sorted(
    name
    for name, field in FIELDS.items()
    if issubclass(field.field_class, IntegerField)
    or (issubclass(field.field_class, SelectFieldBase) and field.kwargs.get("coerce") is int)
)
DATE_FIELDS = sorted(name for name, field in FIELDS.items() if issubclass(field.field_class, DateField))
ALL_FIELDS = sorted(FIELDS)


def _longest() -> list[dict[str, str]]:
    """Each text field as long as its form allows: what passes the form must fit the database."""
    allowed: dict[str, set[int]] = {}
    for form in _form_classes():
        for name, field in _fields(form):
            for rule in field.kwargs.get("validators") or ():
                if isinstance(rule, Length) and rule.max > 0:
                    allowed.setdefault(name, set()).add(rule.max)
    most = max(len(lengths) for lengths in allowed.values())
    bodies = [{name: "a" * sorted(lengths)[i % len(lengths)] for name, lengths in allowed.items()} for i in range(most)]
    # Passwords as long as allowed that the strength check lets through, so the other fields reach the database.
    strong = "".join(hashlib.sha512(str(i).encode()).hexdigest() for i in range(8))
    passwords = [strong[: len(body.get("password", ""))] for body in bodies]
    return [{**body, "password": pw, "confirm": pw} for body, pw in zip(bodies, passwords, strict=True)]


LONGEST = _longest()


def _bodies(token: str) -> Iterator[dict]:
    """Request bodies a form must answer with a form error (or success), never a 500."""
    csrf = {"csrf_token": token}
    for number, day in zip(ODD_NUMBERS, ODD_DAYS, strict=True):
        yield {
            "data": {**dict.fromkeys(NUMBER_FIELDS, number), **dict.fromkeys(DATE_FIELDS, day), "enabled": "y", **csrf}
        }
    yield {"data": {**{name: (io.BytesIO(b"text"), "upload.txt") for name in ALL_FIELDS}, **csrf}}
    yield {"data": {**{name: (io.BytesIO(b""), "") for name in ALL_FIELDS}, **csrf}}
    yield {"data": {**dict.fromkeys(ALL_FIELDS, "x" * 100_000), **csrf}}
    for longest in LONGEST:
        yield {"data": {**longest, **csrf}}
    yield {"data": {**dict.fromkeys(ALL_FIELDS, "a\x00b"), **csrf}}
    raw = "&".join(f"{name}=%ff%fe%80" for name in ALL_FIELDS)
    yield {"data": f"{raw}&csrf_token={token}", "content_type": "application/x-www-form-urlencoded"}
    header = {"X-CSRFToken": token}
    for body in ([1, 2], "x", dict.fromkeys(ALL_FIELDS, 5), {name: {"a": [1]} for name in ALL_FIELDS}):
        yield {"json": body, "headers": header}


# The walk


def _url(app, rule, **values) -> str:
    """The rule's path with these values, put in by hand: url_for would refuse the odd ones."""
    with app.test_request_context():
        path = url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 918273645))
    for value in values.values():
        path = path.replace("918273645", str(value), 1)
    return path


def _rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED and not is_api(r)]
    # The posts that change who is logged in or what exists come last.
    return sorted(rules, key=_comes_last)


def _comes_last(rule) -> bool:
    return rule.endpoint.rsplit(".", 1)[-1].startswith(LAST)


def walk(app, web: Web, own: dict[str, int]) -> list[str]:
    """Every route, with odd values where it reads any; the answers that were 500."""
    client, token = web.client, web.token("/account/" if own else "/login")
    answers: list[str] = []

    def call(method: str, url: str, **kw) -> None:
        got = client.open(url, method=method, **kw)
        if got.status_code >= 500 and not (url == NOT_READY and got.status_code == 503):
            answers.append(f"{method} {url[:120]} {kw.get('query_string', '')!s:.80}: {got.status_code}")

    for rule in _rules(app):
        ids = [a for a in rule.arguments if a != "token"]
        methods = sorted(rule.methods & {"GET", "POST"})
        for value in ODD_IDS if ids else ():
            url = _url(app, rule, **dict.fromkeys(ids, value))
            for method in methods:
                call(method, url, data={"csrf_token": token} if method == "POST" else None)
        if "token" in rule.arguments:
            for value in ("x" * 10_000, "%ff%fe", "a.b.c", UNICODE_DIGITS):
                for method in methods:
                    call(method, _url(app, rule, token=value), data={"csrf_token": token})
        if any(a not in own for a in ids):
            continue  # this viewer has no such object: the odd ids were all it could try
        url = _url(app, rule, **{a: own[a] for a in ids})
        for method in ("HEAD", "OPTIONS"):
            call(method, url)
        if "GET" in rule.methods:
            for value, ids in zip(ODD_PAGES, cycle(ODD_IDS_LISTS)):
                call("GET", url, query_string={**dict.fromkeys(QUERY_NAMES, value), "ids": ids})
            call("GET", url, query_string="page=%ff&q=%fe%80&who=%c0%af&ids=%ff")
        if "POST" in rule.methods:
            for body in _bodies(token):
                call("POST", url, **body)
                if own and _comes_last(rule) and client.get("/account/").status_code != 200:
                    return answers  # logged out (or the account gone): this viewer is done
    return answers


@pytest.mark.parametrize("email", ["acme@owner.test", "boss@resell.test", "staff@hostdeck.test", "admin@hostdeck.test"])
def test_no_input_answers_500(app, web, people, caught, email):
    web.login(email)
    answers = walk(app, web, people[email])
    failures = answers + [f"{where}: {type(error).__name__}: {str(error)[:200]}" for where, error in caught]
    assert not failures, "\n".join(failures)


def test_no_input_answers_500_before_login(app, web, people, caught):
    answers = walk(app, web, {})
    for url in ("/login", "/set-password/x"):
        for body in _bodies(web.token("/login")):
            if web.client.post(url, **body).status_code >= 500:
                answers.append(f"POST {url} {body}")
    failures = answers + [f"{where}: {type(error).__name__}: {str(error)[:200]}" for where, error in caught]
    assert not failures, "\n".join(failures)


def test_the_walk_sees_an_unhandled_exception(app, web, caught):
    """The walk can fail: a route that raises is seen, though the 500 page answered it."""

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    assert web.client.get("/boom").status_code == 500
    assert [type(error) for _, error in caught] == [RuntimeError]


def test_every_form_is_a_portal_form():
    """The portal's base form refuses files and JSON where a form expects fields; every form has it."""
    assert [f for f in _form_classes() if not issubclass(f, Form)] == []
    # Numbers go through the field that knows the database's range; choices of ids through id_choice.
    loose = [
        name
        for name, field in FIELDS.items()
        if (issubclass(field.field_class, IntegerField) and not issubclass(field.field_class, WholeNumberField))
        or field.kwargs.get("coerce") is int
    ]
    assert loose == []
    assert NUMBER_FIELDS and DATE_FIELDS  # the walk found fields to send odd values to


def test_odd_input_is_answered_in_plain_words(app, web, people, caught):
    """What the walk only proves is no 500, in words: not found, or an error at the field."""
    web.login("acme@owner.test")
    box = people["acme@owner.test"]["mailbox_id"]
    for odd in (0, 2**31, 2**63, UNICODE_DIGITS, "%ff"):
        assert web.get(f"/mailboxes/{odd}").status_code == 404, odd
    assert web.get(f"/mailboxes/{box}").status_code == 200

    got = web.submit("/mailboxes/new", {"local_part": "big", "quota_mb": str(10**20), "password": "x" * 12})
    assert "Choose 10 to 102400 MB." in got.get_data(as_text=True)  # the field's own range speaks
    got = web.submit("/mailboxes/new", {"local_part": "big", "quota_mb": UNICODE_DIGITS, "password": "x" * 12})
    assert "Type a whole number, in digits." in got.get_data(as_text=True)
    token = web.token("/mailboxes/new")
    got = web.client.post(
        "/mailboxes/new", data={"csrf_token": token, "local_part": (io.BytesIO(b"alice"), "alice.txt")}
    )
    assert got.status_code == 200
    assert str(NOT_A_FILE) in got.get_data(as_text=True)

    # The status poll answers the ids it was given in ASCII digits, each once, and no others.
    polled = web.get("/mailboxes/status", query_string={"ids": f"{UNICODE_DIGITS},{box},{box},{2**63},-3"})
    assert list(polled.get_json()) == [str(box)]
    polled = web.get("/mailboxes/status", query_string={"ids": ",".join(str(n) for n in range(1, 1000))})
    assert len(polled.get_json()) == MAX_POLLED

    for page in ("0", str(10**18), UNICODE_DIGITS):
        got = web.get("/mailboxes/", query_string={"page": page})
        assert got.status_code == 200 and "box@acme.test" in got.get_data(as_text=True), page
    assert caught == []


def test_a_number_beyond_the_database_is_a_form_error(app, web, people, caught):
    """A limit with no maximum of its own still stops at what the database holds."""
    web.login("boss@resell.test")
    page = f"/reseller/accounts/{people['boss@resell.test']['account_id']}/limits"
    got = web.submit(page, {"mailboxes": str(10**20)})
    assert got.status_code == 200
    assert f"Type a number no larger than {INT_MAX}." in got.get_data(as_text=True)
    assert web.submit(page, {"mailboxes": str(INT_MAX)}).status_code == 302
    assert caught == []
