"""The support console: find an account by anything a customer might quote, see all of it, and suspend
it (only staff may)."""

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, AuditEvent, BackendLog, Domain, LogState, Mailbox, OpState, Server, Status
from tests.helpers import PASSWORD, mailbox_operation


@pytest.fixture
def accounts(make_account, make_staff):
    reseller = make_account("Big Reseller", kind="reseller")
    acme = make_account("Acme Corp", parent=reseller, email="boss@acme-mail.test")
    books = make_account("Books", email="owner@books.test")
    shop = Domain(account=acme, name="acme.test", status=Status.APPLIED)
    idn = Domain(account=books, name="xn--bcher-kva.test", status=Status.PENDING)
    box = Mailbox(
        account=acme,
        domain=shop,
        local_part="alice",
        status=Status.FAILED,
        last_error="The mail server refused the change.",
    )
    server = Server(name="mail9", host="localhost", transport="local", settings={})
    db.session.add_all([shop, idn, box, server])
    db.session.flush()
    entry = BackendLog(server_id=server.id, state=LogState.FAILURE)
    db.session.add(entry)
    db.session.flush()
    db.session.add(
        mailbox_operation(server.id, box.id, account_id=acme.id, state=OpState.FAILED, backend_log_id=entry.id)
    )
    db.session.add(
        AuditEvent(
            account_id=acme.id,
            action="mailbox.save",
            object_type="Mailbox",
            object_id=box.id,
            object_name="alice@acme.test",
            ip="192.0.2.7",
        )
    )
    db.session.commit()
    make_staff()
    return {"reseller": reseller, "acme": acme, "books": books, "log": entry}


def found(web, text: str) -> list[str]:
    page = web.get("/staff/accounts", query_string={"q": text}).get_data(as_text=True)
    if 'id="accounts"' not in page:  # nothing found: the list says so instead of an empty table
        assert "Clear the filter" in page
        return []
    table = page.split('id="accounts"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/staff/accounts/\d+">([^<]+)</a>', table)


def test_search_by_name_login_domain_or_mailbox(web, accounts):
    web.login("staff@hostdeck.test")
    assert found(web, "ACME") == ["Acme Corp"]
    assert found(web, "boss@acme-mail") == ["Acme Corp"]
    assert found(web, "acme.test") == ["Acme Corp"]
    assert found(web, "Bücher.test") == ["Books"]  # typed in Unicode, stored in IDNA
    assert found(web, "alice@acme.test") == ["Acme Corp"]
    assert found(web, "Alice@ACME.test") == ["Acme Corp"]
    assert found(web, "reseller") == ["Big Reseller"]
    assert found(web, "nothing-like-this") == []
    assert "domain: acme.test" in web.get("/staff/accounts?q=acme.test").get_data(as_text=True)
    assert found(web, "") == ["Acme Corp", "Big Reseller", "Books"]


def test_the_account_overview(web, accounts):
    acme = accounts["acme"]
    web.login("staff@hostdeck.test")
    page = web.get(f"/staff/accounts/{acme.id}").get_data(as_text=True)
    for expected in (
        "boss@acme-mail.test",
        "of reseller",
        "Big Reseller",
        "acme.test",
        "alice@acme.test",
        "The mail server refused the change.",
        f"/staff/logs/{accounts['log'].id}",
        "192.0.2.7",
        "Mailbox alice@acme.test saved",
        'name="reason"',
    ):
        assert expected in page, expected
    assert "Failed" in page and "Applied" in page
    limits = page.split('id="limits"', 1)[1].split("</table>", 1)[0]
    assert "1 · no limit" in limits and "MB of mail quota" in limits  # one mailbox, no limit of its own


def test_only_staff_reach_the_console(web, accounts):
    web.login("boss@acme-mail.test")
    for url in ("/staff/accounts", f"/staff/accounts/{accounts['acme'].id}", "/staff/events", "/staff/accounts?q=acme"):
        assert web.get(url).status_code == 404, url


def test_suspending_from_the_overview_is_audited(web, accounts):
    books = accounts["books"]
    web.login("staff@hostdeck.test")
    done = web.submit(f"/staff/accounts/{books.id}", {}, post_url=f"/staff/accounts/{books.id}/suspend")
    assert done.location.endswith(f"/staff/accounts/{books.id}")
    db.session.refresh(books)
    assert not books.active
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.suspend"))
    assert event.account_id == books.id and event.actor.email == "staff@hostdeck.test"
    assert "Account Books suspended" in web.get(f"/staff/events?account={books.id}").get_data(as_text=True)


def test_staff_can_suspend_any_account(web, make_account, make_staff):
    make_account("Resell", kind="reseller", email="boss@resell.test")
    other = make_account("Stranger")
    make_staff()
    web.login("boss@resell.test")
    assert web.submit("/", {}, post_url=f"/staff/accounts/{other.id}/suspend").status_code == 404  # not staff
    web.logout()
    web.login("staff@hostdeck.test")
    assert "Stranger" in web.get("/staff/accounts").get_data(as_text=True)
    assert web.submit("/staff/accounts", {}, post_url=f"/staff/accounts/{other.id}/suspend").status_code == 302
    assert db.session.scalar(sa.select(Account.active).where(Account.id == other.id)) is False
    web.logout()
    refused = web.submit("/login", {"email": "stranger@owner.test", "password": PASSWORD})
    assert refused.status_code == 200 and "suspended. Contact support" in refused.get_data(as_text=True)


def test_a_resync_says_how_many_in_words_that_agree(web, make_account, make_staff, local_server):
    acme = make_account("Acme")
    shop = Domain(account=acme, name="acme.test", status=Status.APPLIED)
    db.session.add_all([shop, Mailbox(account=acme, domain=shop, local_part="alice", status=Status.APPLIED)])
    db.session.commit()
    make_staff()
    web.login("staff@hostdeck.test")
    done = web.submit("/staff/servers", {}, post_url=f"/staff/servers/{local_server.id}/resync")
    assert done.status_code == 302
    assert "1 object is being applied again." in web.get(done.location).get_data(as_text=True)
