"""The dashboard answers "where do I stand?": usage against every limit, what failed or waits, recent
activity, the next step; an empty account gets the "get started" path; staff get the console's way in."""

import re

from portal.blueprints.dashboard.views import LISTS
from portal.extensions import db
from portal.models import Mailbox, Status
from portal.models.kinds import KINDS
from tests.helpers import domain_named, page_text


def _meter(html: str, limit: str) -> str:
    match = re.search(rf'data-limit="{limit}">(.*?)</progress>', html, re.S)
    assert match, f"no meter for {limit}"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1))


def test_every_kind_has_its_list_page():
    assert set(LISTS) == {kind.name for kind in KINDS}


def test_usage_bars_show_every_limit_against_its_cap(web, make_account):
    acme = make_account("Acme", domains=("acme.test",))
    acme.max_mailboxes, acme.max_domains, acme.max_quota_mb = 5, 1, 1000
    for i in range(4):
        db.session.add(Mailbox(account=acme, domain=domain_named("acme.test"), local_part=f"b{i}", quota_mb=200))
    db.session.commit()
    web.login("acme@owner.test")
    html = web.get("/").get_data(as_text=True)
    assert "4 of 5" in _meter(html, "mailboxes") and "Nearly full" in _meter(html, "mailboxes")
    assert "1 of 1" in _meter(html, "domains") and "Limit reached" in _meter(html, "domains")
    assert "800 of 1,000" in _meter(html, "quota_mb")
    assert "no limit" in _meter(html, "addresses")
    assert 'value="80"' in html  # 4 of 5 mailboxes


def test_failed_and_pending_objects_say_what_to_do(web, make_account):
    acme = make_account("Acme", domains=("acme.test",))
    d = domain_named("acme.test")
    d.status = Status.APPLIED
    db.session.add(Mailbox(account=acme, domain=d, local_part="broken", status=Status.FAILED))
    db.session.add(Mailbox(account=acme, domain=d, local_part="waiting", status=Status.PENDING))
    db.session.add(Mailbox(account=acme, domain=d, local_part="fine", status=Status.APPLIED))
    db.session.commit()
    web.login("acme@owner.test")
    text = page_text(web.get("/"))
    assert "Needs attention" in text
    assert "1 mailbox could not be applied" in text and "broken@acme.test" in text
    assert "1 mailbox being applied" in text
    assert "fine@acme.test" not in text


def test_others_objects_never_count(web, make_account):
    make_account("Acme", domains=("acme.test",))
    other = make_account("Other", domains=("other.test",))
    db.session.add(Mailbox(account=other, domain=domain_named("other.test"), local_part="x", status=Status.FAILED))
    db.session.commit()
    web.login("acme@owner.test")
    text = page_text(web.get("/"))
    assert "could not be applied" not in text and "x@other.test" not in text


def test_an_empty_account_gets_started(web, make_account):
    make_account("Fresh")
    web.login("fresh@owner.test")
    response = web.get("/")
    text = page_text(response)
    assert 'id="get-started"' in response.get_data(as_text=True)
    steps = ["Add a domain", "Prove the domain is yours", "Create a mailbox", "Create a system user"]
    assert all(step in text for step in steps)
    assert [text.index(step) for step in steps] == sorted(text.index(step) for step in steps)


def test_an_account_under_way_does_not_get_the_starter_path(web, make_account):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    assert 'id="get-started"' not in web.get("/").get_data(as_text=True)


def test_staff_get_the_console_not_a_customer_dashboard(web, make_account, make_staff):
    make_account("Acme", domains=("acme.test",))
    make_staff()
    web.login("staff@hostdeck.test")
    html = web.get("/").get_data(as_text=True)
    assert 'id="account-count"' in html and 'id="usage"' not in html
