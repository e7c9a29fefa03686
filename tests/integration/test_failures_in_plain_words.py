"""Failures in plain words: a customer whose change failed on a real server reads what failed, never a
server's stderr, a path or a server's name (pages, status polls, flashes); staff read the raw detail.
"Try again" re-applies the customer's own failed object: scoped, audited, throttled, refused when
nothing failed or when a new password is needed first."""

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for

from portal.blueprints.retry.views import PAGES
from portal.extensions import db
from portal.models import (
    KINDS,
    Address,
    AuditEvent,
    BackendLog,
    Database,
    DatabaseUser,
    DnsRecord,
    Domain,
    LogState,
    Mailbox,
    Operation,
    OpState,
    Route,
    Server,
    Status,
    SystemUser,
    WebApp,
    Website,
    utcnow,
)
from portal.orchestration.backends import BACKENDS, backends_for
from portal.orchestration.outcome import forget_old_secrets
from portal.services.failures import RETRIES_PER_OBJECT, THINGS
from tests.helpers import count, mailbox, new_mailbox, page_text

PW = "plum anchor velvet harbour"  # strong enough for the password check
FOLDER = "The mail server could not create the mailbox folder. Support has been told."


def break_mail_location(server, tmp_path: Path) -> str:
    """Mail homes under a regular file: the script's `install -d` fails (FAILURE), naming the path."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    server.settings = {**server.settings, "mail_root": str(blocker / "vmail")}
    db.session.commit()
    return str(blocker)


def mend_mail_location(server, dovecot) -> None:
    server.settings = {**server.settings, "mail_root": str(dovecot.mail_root)}
    db.session.commit()


@pytest.fixture
def failed(web, acme, dovecot, work, tmp_path):
    """alice@acme.test, created while mail1's mail location is broken: its script failed for real."""
    blocker = break_mail_location(acme, tmp_path)
    response = new_mailbox(web, "alice", PW)
    assert response.status_code == 302, page_text(response)
    work()
    box = mailbox("alice@acme.test")
    assert box.status == Status.FAILED
    assert "cannot create directory" in box.last_error  # the raw detail is kept, for staff
    return box, blocker


def leaks(text: str, blocker: str) -> list[str]:
    return [raw for raw in ("cannot create directory", blocker, "/vmail", "mail1", "exit code") if raw in text]


def test_a_customer_reads_what_failed_in_plain_words(web, failed):
    box, blocker = failed
    for url in (f"/mailboxes/{box.id}", "/mailboxes/"):
        page = page_text(web.get(url))
        assert FOLDER in page, url
        assert leaks(page, blocker) == [], url
        assert f'action="/mailboxes/{box.id}/retry"' in page  # a visible "Try again"
        assert f'data-retry-for="{box.id}" hidden' not in page

    polled = web.get(f"/mailboxes/status?ids={box.id}").get_json()
    assert polled == {str(box.id): {"status": "failed", "error": FOLDER, "retry": True}}


def test_staff_read_the_raw_detail(web, failed, acme):
    box, blocker = failed
    entry = db.session.scalars(sa.select(BackendLog)).one()
    assert entry.state == LogState.FAILURE
    web.logout()
    web.login("staff@hostdeck.test")
    log_page = web.get(f"/staff/logs/{entry.id}").get_data(as_text=True)
    assert "cannot create directory" in log_page and blocker in log_page

    # Impersonating the customer, staff see both: the plain words and what the server said.
    owner = box.account.users[0]
    assert web.submit("/", {"reason": "ticket #1"}, post_url=f"/impersonate/{owner.id}").status_code == 302
    page = web.get(f"/mailboxes/{box.id}").get_data(as_text=True)
    assert FOLDER in page and "cannot create directory" in page and "mail1" in page
    polled = web.get(f"/mailboxes/status?ids={box.id}").get_json()[str(box.id)]
    assert polled["error"] == FOLDER and "cannot create directory" in polled["detail"]


def test_try_again_applies_the_mailbox_once_the_cause_is_fixed(web, failed, acme, dovecot, work):
    box, _ = failed
    mend_mail_location(acme, dovecot)
    response = web.submit(f"/mailboxes/{box.id}", {}, post_url=f"/mailboxes/{box.id}/retry")
    assert response.status_code == 302 and response.location.endswith(f"/mailboxes/{box.id}")
    assert "alice@acme.test is being applied again." in web.get(response.location).get_data(as_text=True)
    assert mailbox("alice@acme.test").status == Status.PENDING
    work()
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert mailbox("alice@acme.test").last_error is None
    # The verifier kept for the retry delivered the password the customer chose.
    assert dovecot.wait_login("alice@acme.test", PW)

    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mailbox.retry")).one()
    assert (event.object_id, event.actor.email, event.real_actor_id) == (box.id, "acme@owner.test", None)
    assert "Mailbox alice@acme.test retried with the current state" in web.get("/activity").get_data(as_text=True)


def test_try_again_on_another_accounts_object_is_not_found(web, failed, make_account):
    box, _ = failed
    make_account("Other", domains=("other.test",))
    web.logout()
    web.login("other@owner.test")
    token = web.token("/")
    foreign = web.client.post(f"/mailboxes/{box.id}/retry", data={"csrf_token": token})
    missing = web.client.post("/mailboxes/987654321/retry", data={"csrf_token": token})
    assert foreign.status_code == missing.status_code == 404
    assert page_text(foreign) == page_text(missing)
    assert count(AuditEvent, AuditEvent.action == "mailbox.retry") == 0
    assert mailbox("alice@acme.test").status == Status.FAILED


def test_try_again_needs_the_csrf_token(web, failed):
    box, _ = failed
    assert web.client.post(f"/mailboxes/{box.id}/retry").status_code == 400
    assert mailbox("alice@acme.test").status == Status.FAILED


def test_try_again_is_refused_when_nothing_failed(web, acme, dovecot, work):
    new_mailbox(web, "bob", PW)
    work()
    box = mailbox("bob@acme.test")
    assert box.status == Status.APPLIED
    page = page_text(web.get(f"/mailboxes/{box.id}"))
    assert f'action="/mailboxes/{box.id}/retry"' not in page
    operations = count(Operation)
    response = web.submit(f"/mailboxes/{box.id}", {}, post_url=f"/mailboxes/{box.id}/retry")
    assert response.status_code == 302
    text = web.get(response.location).get_data(as_text=True)
    assert "This mailbox has not failed: there is nothing to try again." in text
    assert count(Operation) == operations
    assert count(AuditEvent, AuditEvent.action == "mailbox.retry") == 0


def test_try_again_is_throttled_per_object(web, failed, work):
    box, _ = failed
    for _ in range(RETRIES_PER_OBJECT):  # the cause is not fixed: each try fails again, for real
        response = web.submit(f"/mailboxes/{box.id}", {}, post_url=f"/mailboxes/{box.id}/retry")
        assert response.status_code == 302
        work()
        assert mailbox("alice@acme.test").status == Status.FAILED
    response = web.submit(f"/mailboxes/{box.id}", {}, post_url=f"/mailboxes/{box.id}/retry")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "This mailbox was tried again a moment ago." in response.get_data(as_text=True)
    assert mailbox("alice@acme.test").status == Status.FAILED
    assert count(AuditEvent, AuditEvent.action == "mailbox.retry") == RETRIES_PER_OBJECT


def test_a_lost_password_asks_for_a_new_one_instead_of_a_retry(web, failed):
    box, _ = failed
    # FAILED_SECRET_DAYS later the sweep wipes the verifier the failed change kept.
    db.session.execute(sa.update(Operation).values(updated_at=utcnow() - timedelta(days=400)))
    db.session.commit()
    assert forget_old_secrets() >= 1
    db.session.commit()
    page = page_text(web.get(f"/mailboxes/{box.id}"))
    assert "data-password-lost" in page
    assert "This mailbox needs a new password before it can be set up." in page
    assert f'action="/mailboxes/{box.id}/retry"' not in page
    assert web.get(f"/mailboxes/status?ids={box.id}").get_json()[str(box.id)]["retry"] is False
    response = web.submit(f"/mailboxes/{box.id}", {}, post_url=f"/mailboxes/{box.id}/retry")
    assert "This mailbox needs a new password: please set one below." in web.get(response.location).get_data(
        as_text=True
    )
    assert mailbox("alice@acme.test").status == Status.FAILED
    assert count(Operation, Operation.state == OpState.PENDING) == 0


def test_a_change_waiting_for_a_retry_says_so(web, acme, dovecot, work, sshd):
    """The server could not be reached (ERROR): plain words, "we will try again", no button yet."""
    acme.port = 1  # nothing listens there
    db.session.commit()
    new_mailbox(web, "carol", PW)
    work()
    box = mailbox("carol@acme.test")
    assert box.status == Status.PENDING and box.last_error
    page = page_text(web.get(f"/mailboxes/{box.id}"))
    assert "The server could not be reached. We will try again." in page
    assert box.last_error not in page and "mail1" not in page
    assert f'data-retry-for="{box.id}" hidden' in page  # status.js shows it once the change has failed
    polled = web.get(f"/mailboxes/status?ids={box.id}").get_json()[str(box.id)]
    assert polled == {
        "status": "pending",
        "error": "The server could not be reached. We will try again.",
        "retry": False,
    }


class TestInProcess:
    """Without Redis (the demo) the change is applied before the redirect: a failure is what it says."""

    @pytest.fixture
    def app_config(self):
        return {}  # no REDIS_URL

    def test_a_failed_change_does_not_flash_success(self, web, make_account, local_server, tmp_path):
        make_account("Acme", domains=("acme.test",))
        web.login("acme@owner.test")
        blocker = break_mail_location(local_server, tmp_path)
        response = new_mailbox(web, "dave", PW)
        assert response.status_code == 302
        box = mailbox("dave@acme.test")
        assert box.status == Status.FAILED
        page = page_text(web.get(response.location))
        assert "is being set up" not in page
        assert f"dave@acme.test: {FOLDER}" in page
        assert leaks(page, blocker) == []

    def test_a_change_that_went_through_flashes_success(self, web, make_account, local_server):
        make_account("Acme", domains=("acme.test",))
        web.login("acme@owner.test")
        response = new_mailbox(web, "erin", PW)
        assert mailbox("erin@acme.test").status == Status.APPLIED
        assert "erin@acme.test is being set up." in web.get(response.location).get_data(as_text=True)


def failed_objects(account, server) -> list:
    """One object of every kind, failed on `server` with a script whose stderr names a path."""
    domain = Domain(account=account, name="kinds.test", status=Status.APPLIED)
    box = Mailbox(account=account, domain=domain, local_part="box", status=Status.APPLIED)
    address = Address(account=account, domain=domain, local_part="info", mailboxes=[box], status=Status.APPLIED)
    user = SystemUser(account=account, name=f"{account.assigned_prefix()}_web", status=Status.APPLIED)
    app = WebApp(account=account, system_user=user, name="site", kind="static", options={}, status=Status.APPLIED)
    site = Website(account=account, name="Kinds site", domains=[domain], status=Status.APPLIED)
    database = Database(
        account=account, engine="mariadb", name=f"{account.assigned_prefix()}_db", status=Status.APPLIED
    )
    db_user = DatabaseUser(
        account=account,
        engine="mariadb",
        name=f"{account.assigned_prefix()}_u",
        databases=[database],
        status=Status.APPLIED,
    )
    record = DnsRecord(
        account=account, domain=domain, name="www", rtype="A", ttl=300, value="192.0.2.1", status=Status.APPLIED
    )
    objects = [domain, record, box, address, user, app, site, database, db_user]
    assert {type(obj) for obj in objects} == {kind.model for kind in KINDS}, "one of every kind"
    db.session.add_all(objects)
    entry = BackendLog(
        server_id=server.id, state=LogState.FAILURE, exit_code=1, stderr="/srv/secret/x: Permission denied"
    )
    db.session.add(entry)
    db.session.flush()
    for obj in objects:
        backend = backends_for(type(obj).__name__, obj)[0]
        db.session.add(
            Operation(
                server_id=server.id,
                backend=backend.name,
                object_type=type(obj).__name__,
                object_id=obj.id,
                action="save",
                state=OpState.FAILED,
                account_id=account.id,
                backend_log_id=entry.id,
            )
        )
        obj.status, obj.last_error = (
            Status.FAILED,
            f"{server.name} refused the change: /srv/secret/x: Permission denied",
        )
    db.session.commit()
    return objects


def test_every_kind_shows_plain_words_and_tries_again(app, web, make_account):
    """Generic over the kinds registry: each kind's page says what failed in its words, offers "Try
    again", and the retry re-applies it (audited), without a server's name or a path on the page."""
    account = make_account("Acme")
    server = Server(name="hidden-host-7", host="localhost", transport="local", settings={})
    db.session.add(server)
    db.session.add_all(Route(backend=name, server=server) for name in BACKENDS)
    db.session.commit()
    objects = failed_objects(account, server)
    web.login("acme@owner.test")
    for obj in objects:
        name = type(obj).__name__
        rule, endpoint = PAGES[name]
        arg = rule.split("<int:", 1)[1].split(">", 1)[0]
        with app.test_request_context():
            page_url = url_for(endpoint) if endpoint == "databases.index" else url_for(endpoint, **{arg: obj.id})
            retry_url = url_for(f"retry.{name}", **{arg: obj.id})
        page = page_text(web.get(page_url))
        words = f"could not set up the {THINGS[name]}. Support has been told."
        assert words in page, (name, page_url)
        assert "/srv/secret" not in page and "hidden-host-7" not in page, name
        assert f'action="{retry_url}"' in page, name
        response = web.client.post(retry_url, data={"csrf_token": web.token("/")})
        assert response.status_code == 302 and response.location.endswith(page_url), name
        assert "is being applied again" in web.get(response.location).get_data(as_text=True), name
        db.session.refresh(obj)
        assert obj.status == Status.PENDING, name
    assert count(AuditEvent, AuditEvent.action.like("%.retry")) == len(objects)
