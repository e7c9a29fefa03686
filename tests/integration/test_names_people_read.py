"""Names as people write them: domains and addresses in Unicode wherever a person reads them (flashes,
the activity page, the audit trail, the staff console), searches that take either spelling and read
% and _ as plain characters, long names refused with the limit, long input echoed shortened, and long
names that never widen a list."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, AuditEvent, Domain, Mailbox, User
from tests.helpers import count, domain_id, domain_named, mailbox, new_mailbox

LINK = re.compile(r'id="set-password-link">([^<]+)<')


@pytest.fixture
def app_config():
    return {}  # no Redis: applied in-process, right after each request


@pytest.fixture
def books(web, make_account, make_staff, mailhost):
    """Customer Books (logged in) and a staff login."""
    make_account("Books", email="owner@books.test", domains=("books.test",))
    make_staff()
    web.login("owner@books.test")
    return mailhost


def flashes(web, response) -> list[str]:
    """The messages on the page a form's POST redirected to."""
    assert response.status_code == 302, response.get_data(as_text=True)
    response = web.get(response.location)
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r'role="alert">(.*?)</div>', response.get_data(as_text=True))]


def between(page: str, start: str, end: str = "</table>") -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


def test_a_unicode_domain_reads_in_unicode_in_flashes_activity_and_the_audit_trail(web, books):
    added = web.submit("/domains/", {"name": "Bücher.Example"})
    assert "bücher.example is being set up." in flashes(web, added)
    created = new_mailbox(web, "info", domain="xn--bcher-kva.example")
    assert "info@bücher.example is being set up." in flashes(web, created)
    box = mailbox("info@xn--bcher-kva.example")
    account_id = box.account_id
    changed = web.submit(
        f"/mailboxes/{box.id}",
        {"password": "another-password-1", "confirm": "another-password-1"},
        post_url=f"/mailboxes/{box.id}/password",
    )
    assert "The new password for info@bücher.example is being applied." in flashes(web, changed)
    deleted = web.submit(f"/mailboxes/{box.id}/delete", {})
    assert "info@bücher.example is being deleted." in flashes(web, deleted)

    assert new_mailbox(web, "kasse", domain="xn--bcher-kva.example").status_code == 302  # one that stays
    shown = web.get(f"/mailboxes/{mailbox('kasse@xn--bcher-kva.example').id}").get_data(as_text=True)
    assert "<title>kasse@bücher.example" in shown and "xn--" not in shown
    again = new_mailbox(web, "kasse", domain="xn--bcher-kva.example").get_data(as_text=True)
    assert "kasse@bücher.example already exists." in again

    activity = between(web.get("/activity").get_data(as_text=True), 'id="events"')
    assert "Mailbox info@bücher.example saved" in activity and "Domain bücher.example" in activity
    assert "xn--" not in activity

    # Events written before names were stored for people read in Unicode too.
    db.session.add(
        AuditEvent(
            account_id=account_id,
            action="address.save",
            object_type="Address",
            object_name="sales@xn--bcher-kva.example",
            fields={"forwards": ["kunde@xn--bcher-kva.example"]},
        )
    )
    db.session.commit()
    web.logout()
    web.login("staff@hostdeck.test")
    trail = between(web.get("/staff/events").get_data(as_text=True), 'id="events"')
    assert "Address sales@bücher.example saved: forwards kunde@bücher.example" in trail
    assert "xn--" not in trail
    account = db.session.scalar(sa.select(Account).where(Account.name == "Books"))
    page = web.get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert "kasse@bücher.example" in between(page, 'id="services"', "<h2") and "xn--" not in page


@pytest.fixture
def shelves(make_account, make_staff):
    """Accounts whose names and logins hold the characters LIKE reads as wildcards, and one IDN domain."""
    for name in ("a_b", "abc", "Books"):
        make_account(name)
    books = db.session.scalar(sa.select(Account).where(Account.name == "Books"))
    domain = Domain(account=books, name="xn--bcher-kva.example")
    db.session.add(domain)
    db.session.flush()
    db.session.add(Mailbox(account=books, domain=domain, local_part="info"))
    db.session.commit()
    make_staff()


def found(web, text: str) -> list[str]:
    response = web.get("/staff/accounts", query_string={"q": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if 'id="accounts"' not in page:  # nothing found: the list says so instead of showing a table
        return []
    table = between(page, 'id="accounts"')
    links = re.findall(r'<a href="/staff/accounts/\d+"(?: title="([^"]+)")?>([^<]+)<', table)
    return [title or text for title, text in links]  # a long name shortened shows whole in its title


def test_staff_search_takes_unicode_or_a_labels(web, shelves):
    web.login("staff@hostdeck.test")
    assert found(web, "bücher") == ["Books"]
    assert found(web, "BÜCHER.example") == ["Books"]
    assert found(web, "xn--bcher") == ["Books"]
    assert found(web, "info@bücher.example") == ["Books"]
    page = web.get("/staff/accounts", query_string={"q": "info"}).get_data(as_text=True)
    assert "mailbox: info@bücher.example" in page and "xn--" not in between(page, 'id="accounts"')
    assert "domain: bücher.example" in web.get("/staff/accounts", query_string={"q": "bücher"}).get_data(as_text=True)


def test_percent_and_underscore_are_plain_characters_in_every_search(web, shelves):
    web.login("staff@hostdeck.test")
    assert found(web, "a_b") == ["a_b"]
    assert found(web, "a_") == ["a_b"]  # not "abc", nor abc@owner.test
    assert found(web, "%") == []
    assert found(web, "_") == ["a_b"]
    staff = db.session.scalar(sa.select(User).where(User.email == "staff@hostdeck.test"))
    db.session.add(AuditEvent(action="login.test_one", ip="192.0.2.1", actor_id=staff.id))
    db.session.add(AuditEvent(action="loginXtest", ip="192.0.2.2"))
    db.session.commit()

    def events(**query) -> str:
        """The trail's rows the filter leaves ("" when it leaves none and the page says so)."""
        response = web.get("/staff/events", query_string=query)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return between(page, 'id="events"') if 'id="events"' in page else ""

    assert "192.0.2.1" in events(action="login.test_") and "192.0.2.2" not in events(action="login_test")
    assert "192.0.2.1" not in events(action="%")
    assert "staff@hostdeck.test" in events(who="staff@")
    assert "staff@hostdeck.test" not in events(who="%")
    assert "staff@hostdeck.test" not in events(who="staff_hostdeck")


@pytest.fixture
def reseller(web, make_account, mailhost):
    account = make_account("Resell", kind="reseller", email="boss@resell.test")
    web.login("boss@resell.test")
    return account


def test_a_long_account_name_is_refused_with_the_limit(web, reseller):
    form = web.get("/reseller/accounts").get_data(as_text=True)
    assert not re.search(r'<input[^>]*name="name"[^>]*maxlength=', form)  # no silent cut in the browser
    response = web.submit(
        "/reseller/accounts",
        {"name": "B" * 500, "owner_email": "owner@bakery.example.net", "emergency_email": "help@contact.example.org"},
    )
    assert response.status_code == 200
    assert "At most 100 characters." in response.get_data(as_text=True)
    assert count(Account) == 1 and not LINK.search(response.get_data(as_text=True))


def test_every_length_limit_is_said_in_words(web, books):
    response = web.submit("/domains/", {"name": "a" * 1001})
    assert "At most 1000 characters." in response.get_data(as_text=True)
    assert count(Domain) == 1


def test_a_long_bad_domain_is_echoed_shortened(web, books):
    name = "bad_label" + "x" * 900 + ".example"
    response = web.submit("/domains/", {"name": name})
    page = response.get_data(as_text=True)
    assert "is not a valid domain name" in page
    assert page.count(name) == 1  # only in the field's value, not in the error
    assert f"{name[:60]}…" in page
    forwards = web.submit(
        "/addresses/new",
        {"local_part": "sales", "domain_id": domain_id("books.test"), "forwards": "kunde@" + "ü" * 300 + ".example"},
    ).get_data(as_text=True)
    assert "ü" * 300 not in between(forwards, "invalid-feedback", "</div>")
    assert domain_named("books.test") is not None


def test_long_names_do_not_widen_lists(web, reseller, make_account, make_staff):
    name = "Bakery" + "x" * 94
    make_account(name, parent=reseller, email="owner@bakery.test")
    listing = web.get("/reseller/accounts").get_data(as_text=True)
    assert f'title="{name}"' in between(listing, "<tbody>")
    make_staff()
    web.logout()
    web.login("staff@hostdeck.test")
    staff = web.get("/staff/accounts").get_data(as_text=True)
    assert f'title="{name}"' in between(staff, 'id="accounts"')
    assert found(web, "bakery") == [name]


def test_a_long_reason_is_refused_with_the_limit_not_cut(web, reseller, make_account):
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.test")
    listing = web.get("/reseller/accounts").get_data(as_text=True)
    assert not re.search(r'<input[^>]*name="reason"[^>]*maxlength=', listing)
    owner = db.session.scalar(sa.select(User).where(User.account_id == bakery.id))
    response = web.submit("/reseller/accounts", {"reason": "r" * 201}, post_url=f"/impersonate/{owner.id}")
    assert response.status_code == 302
    assert "At most 200 characters." in flashes(web, response)
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "impersonation.start")) is None


def test_no_query_reads_typed_text_as_a_like_pattern():
    """Every LIKE in the portal goes through contains/startswith/endswith with autoescape=True (or
    common.matching()): a raw like()/ilike() would read a person's % and _ as wildcards."""
    raw = re.compile(r"\.(?:i?like|not_i?like)\(")
    found = [
        f"{path}:{number}"
        for path in Path("portal").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if raw.search(line)
    ]
    assert found == []
