"""Kept pages (blueprints/kept.py, models/revisions.py): a list or the dashboard is rendered once per
viewer and revision of what it shows, and every change, from a form, a worker process, a bulk statement
or a sub-account, shows on the next request. Redis here is the real one the workers share."""

import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Mailbox, Operation, OpState, Status, revisions
from portal.orchestration.outcome import update_objects
from tests.helpers import (
    CSRF,
    Web,
    domain_named,
    mailbox,
    new_mailbox,
    page_text,
    user_named,
    wait_for,
)

PAGES = (
    "/",
    "/mailboxes/",
    "/addresses/",
    "/domains/",
    "/activity",
    "/databases/",
    "/system-users/",
    "/webapps/",
    "/websites/",
)


class Statements:
    """How many SQL statements the requests in the block ran."""

    def __enter__(self):
        self.seen = []
        sa.event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *args):
        self.seen.append(args[2])

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._count)

    @property
    def n(self) -> int:
        return len(self.seen)


def _numbers(*names: str) -> tuple[int, ...]:
    found = revisions.read(list(names))
    assert found is not None
    return found[1:]  # after the epoch


def _badge(html: str, obj_id: int) -> str:
    found = re.search(rf'data-status-id="{obj_id}"[^>]*data-status="(\w+)"', html)
    assert found, f"no status badge for {obj_id}"
    return found.group(1)


def test_a_kept_page_is_the_page_rendered_afresh(web, acme):
    new_mailbox(web, "alice", with_address=True)
    web.get("/account/")  # shows the flashed "being applied", which is not kept
    for url in PAGES:
        fresh = web.get(url)
        with Statements() as kept:
            again = web.get(url)
        assert fresh.status_code == again.status_code == 200, url
        assert page_text(again) == page_text(fresh), url
        assert kept.n <= 2, (url, kept.seen)  # the login's session, and no page query
        assert "<!--kept" not in again.get_data(as_text=True)


def test_a_change_from_a_form_shows_at_once(web, acme):
    web.get("/mailboxes/")
    web.get("/")
    new_mailbox(web, "alice")
    web.get("/account/")  # shows the flashed words, which name the mailbox too
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), mailbox("alice@acme.test").id) == "pending"
    assert "alice@acme.test" in page_text(web.get("/"))  # the recent activity


def test_a_status_a_worker_settles_shows_at_once(web, acme):
    """The worker's bulk UPDATE names its accounts, so their pages move and no one else's."""
    new_mailbox(web, "alice")
    box = mailbox("alice@acme.test")
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "pending"
    shared_before = _numbers(revisions.SHARED)
    db.session.execute(sa.update(Operation).values(state=OpState.FAILED))
    db.session.flush()
    update_objects({("Mailbox", box.id)}, {})
    db.session.commit()
    html = web.get("/mailboxes/").get_data(as_text=True)
    assert _badge(html, box.id) == "failed"
    assert "could not be applied" in page_text(web.get("/"))
    # update_objects named the account; only the unnamed UPDATE of the operations moved the shared number.
    assert _numbers(revisions.SHARED)[0] == shared_before[0] + 1


def test_a_real_worker_process_moves_the_pages_it_changed(web, acme, workers):
    new_mailbox(web, "alice")
    box = mailbox("alice@acme.test")
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "pending"
    workers.start()
    wait_for(lambda: db.session.scalar(sa.select(Mailbox.status).where(Mailbox.id == box.id)) == Status.APPLIED)
    db.session.rollback()
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "applied"


def test_a_bulk_statement_nobody_named_moves_every_page(web, acme):
    new_mailbox(web, "alice")
    box = mailbox("alice@acme.test")
    web.get("/mailboxes/")
    before = _numbers(revisions.SHARED, revisions.ANY)
    db.session.execute(sa.update(Mailbox).where(Mailbox.id == box.id).values(status=Status.FAILED))
    db.session.commit()
    after = _numbers(revisions.SHARED, revisions.ANY)
    assert after == (before[0] + 1, before[1] + 1)
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "failed"


def test_a_rolled_back_change_moves_nothing(acme):
    account_id = user_named("acme@owner.test").account_id
    names = (revisions.SHARED, revisions.ANY, revisions.account(account_id))
    before = _numbers(*names)
    db.session.add(Mailbox(account_id=account_id, domain=domain_named("acme.test"), local_part="gone"))
    db.session.flush()
    db.session.rollback()
    assert _numbers(*names) == before


def test_a_sub_accounts_change_shows_on_its_resellers_pages(client, make_account):
    reseller = make_account("Resell", kind="reseller")
    bakery = make_account("Bakery", parent=reseller, domains=("bakery.test",))
    boss = Web(client)
    boss.login("resell@owner.test")
    assert "b1@bakery.test" not in page_text(boss.get("/mailboxes/"))
    before = _numbers(revisions.account(reseller.id))
    db.session.add(Mailbox(account_id=bakery.id, domain=domain_named("bakery.test"), local_part="b1"))
    db.session.commit()
    assert _numbers(revisions.account(reseller.id))[0] > before[0]
    assert "b1@bakery.test" in page_text(boss.get("/mailboxes/"))


def test_no_one_is_shown_a_page_kept_for_someone_else(app, web, acme, make_account):
    """Two logins of one account, and another account: each gets its own page."""
    new_mailbox(web, "alice")
    web.get("/mailboxes/")
    other = make_account("Other", domains=("other.test",))
    db.session.add(Mailbox(account_id=other.id, domain=domain_named("other.test"), local_part="zed"))
    db.session.commit()
    stranger = Web(app.test_client())
    stranger.login("other@owner.test")
    text = page_text(stranger.get("/mailboxes/"))
    assert "zed@other.test" in text and "alice@acme.test" not in text


def test_a_kept_form_carries_the_requests_own_csrf_token(app, client, make_account):
    """A second login is shown the page kept for the first, with its own token, and its form is accepted."""
    make_account("Resell", kind="reseller")
    first, second = Web(client), Web(app.test_client())
    first.login("resell@owner.test")
    second.login("resell@owner.test")  # a login is recorded in the activity: before the page is kept
    first_token = CSRF.search(form_with(first.get("/reseller/accounts"), "owner_email")).group(1)
    with Statements() as kept:
        page = form_with(second.get("/reseller/accounts"), "owner_email")
    assert kept.n <= 3, kept.seen  # it was kept: the session, and whom the reseller may switch to
    token = CSRF.search(page).group(1)
    assert token != first_token
    data = {
        "name": "Bakery",
        "owner_email": "owner@bakery.example.com",
        "emergency_email": "help@contact.example.org",
        "csrf_token": token,
    }
    reply = second.client.post("/reseller/accounts", data=data)
    assert "is ready" in page_text(reply), re.findall(r"(?:invalid-feedback|alert)[^<]*<[^<]*", page_text(reply))


def form_with(response, field: str) -> str:
    """The HTML of the page's form that has this field."""
    forms = re.findall(r"<form.*?</form>", response.get_data(as_text=True), re.S)
    found = [form for form in forms if f'name="{field}"' in form]
    assert found, f"no form with {field}"
    return found[0]


def test_pages_are_rendered_afresh_while_redis_is_down(web, acme, redis_server):
    new_mailbox(web, "alice")
    box = mailbox("alice@acme.test")
    web.get("/mailboxes/")
    redis_server.stop()
    try:
        db.session.execute(revisions.named(sa.update(Mailbox).where(Mailbox.id == box.id).values(status=Status.FAILED)))
        db.session.commit()  # its numbers cannot move: Redis is down
        assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "failed"
        assert web.get("/").status_code == 200
    finally:
        redis_server.start()


def test_an_emptied_redis_starts_a_new_epoch(web, acme, redis_server):
    """Numbers count from 0 again in an emptied Redis: pages kept before must not match them."""
    before = revisions.read([revisions.SHARED])
    redis_server.flushall()
    after = revisions.read([revisions.SHARED])
    assert before is not None and after is not None
    assert after[0] != before[0] and after[0] is not None
    assert revisions.read([revisions.SHARED])[0] == after[0]
    new_mailbox(web, "alice")
    web.get("/account/")
    box = mailbox("alice@acme.test")
    web.get("/mailboxes/")
    redis_server.flushall()  # the numbers start again; the page kept above is not shown
    db.session.execute(revisions.named(sa.update(Mailbox).where(Mailbox.id == box.id).values(status=Status.FAILED)))
    db.session.commit()
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "failed"
