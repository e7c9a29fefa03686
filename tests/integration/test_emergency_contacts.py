"""Emergency contacts: on no domain hosted here, asked for at sub-account creation and in settings,
confirmed by a signed link (a POST from the page it opens; a GET changes nothing), shown to staff.

The link goes through a real SMTP server on loopback (aiosmtpd), sent by a real RQ worker (`work`).
"""

import re

import pytest
import sqlalchemy as sa
from redis import Redis

from portal.extensions import db
from portal.models import AuditEvent, Domain, utcnow
from tests.helpers import account_named, mail_body, mailing_config, page_text

PUBLIC = "https://portal.example"
LINK = re.compile(re.escape(PUBLIC) + r"(/account/emergency-contact/confirm/[A-Za-z0-9_.\-]+)")
HOSTED = "is hosted here"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return mailing_config(redis_server, sshd, smtp, PUBLIC_URL=PUBLIC)


@pytest.fixture
def acme(make_account):
    return make_account("Acme", domains=("acme.example.com",))


def link_to(smtp, address: str) -> str:
    """The path of the one link mailed to the address (the same in the text and HTML parts)."""
    [message] = [m for m in smtp.messages if m["To"] == address]
    text, html = LINK.search(mail_body(message, "plain")), LINK.search(mail_body(message, "html"))
    assert text and html and text.group(1) == html.group(1), "no link, or two different ones"
    return text.group(1)


def set_contact(web, address: str):
    return web.submit("/account/", {"emergency_email": address}, post_url="/account/emergency-contact")


def confirm(web, path: str):
    return web.submit(path, {})


def test_a_contact_is_confirmed_by_a_post_from_its_link_and_a_get_changes_nothing(
    app, web, acme, smtp, work, redis_server
):
    web.login("acme@owner.test")
    saved = set_contact(web, "Help@Elsewhere.Example.org")
    assert saved.status_code == 302
    assert "A confirmation link is on its way" in page_text(web.get(saved.location))
    assert smtp.messages == []  # a worker sends it, after the commit
    work()
    path = link_to(smtp, "help@elsewhere.example.org")
    token = path.rsplit("/", 1)[1]
    redis = Redis.from_url(redis_server.url)
    assert not any(token.encode() in (redis.dump(key) or b"") for key in redis.scan_iter()), "the token is in Redis"

    opened = web.get(path)  # the page the link opens: it asks, and confirms nothing
    assert opened.status_code == 200 and "help@elsewhere.example.org" in page_text(opened)
    assert account_named("Acme").emergency_confirmed_at is None
    assert web.client.post(path, data={}).status_code == 400  # no CSRF token: nothing happens
    db.session.expire_all()
    assert account_named("Acme").emergency_confirmed_at is None

    anonymous = web.__class__(app.test_client())  # whoever reads that mailbox need not log in
    done = confirm(anonymous, path)
    assert done.status_code == 302 and "is confirmed" in page_text(anonymous.get(done.location))
    db.session.expire_all()
    assert account_named("Acme").emergency_confirmed_at is not None
    again = anonymous.get(path)  # spent
    assert again.status_code == 404 and "Link no longer works" in page_text(again)
    page = page_text(web.get("/account/"))
    assert "help@elsewhere.example.org" in page and "Confirmed" in page
    actions = [(e.action, e.fields) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert ("account.emergency_contact", {"from": None, "to": "help@elsewhere.example.org"}) in actions
    assert ("account.emergency_confirmed", {"to": "help@elsewhere.example.org"}) in actions
    assert all(token not in str(fields) for _, fields in actions)


def test_a_changed_address_needs_a_new_confirmation_and_the_old_link_is_spent(web, acme, smtp, work):
    web.login("acme@owner.test")
    set_contact(web, "first@elsewhere.example.org")
    work()
    first = link_to(smtp, "first@elsewhere.example.org")
    assert confirm(web, first).status_code == 302
    set_contact(web, "second@elsewhere.example.org")
    db.session.expire_all()
    account = account_named("Acme")
    assert account.emergency_email == "second@elsewhere.example.org" and account.emergency_confirmed_at is None
    assert web.get(first).status_code == 404  # names the old address
    work()
    second = link_to(smtp, "second@elsewhere.example.org")
    set_contact(web, "third@elsewhere.example.org")  # changed before it was opened
    assert web.get(second).status_code == 404
    assert "Waiting for confirmation" in page_text(web.get("/account/"))


def test_the_same_address_again_sends_a_new_link_and_resend_works(web, acme, smtp, work):
    web.login("acme@owner.test")
    set_contact(web, "help@elsewhere.example.org")
    resent = web.submit("/account/", {}, post_url="/account/emergency-contact/resend")
    assert resent.status_code == 302 and "A new confirmation link" in page_text(web.get(resent.location))
    work()
    assert len([m for m in smtp.messages if m["To"] == "help@elsewhere.example.org"]) == 2
    # Past the hourly limit of links to one address: refused, in words.
    set_contact(web, "help@elsewhere.example.org")
    refused = set_contact(web, "help@elsewhere.example.org")
    assert refused.status_code == 200 and "Several links went to" in page_text(refused)


@pytest.mark.parametrize(
    "address",
    [
        "me@acme.example.com",  # the account's own domain
        "me@mail.acme.example.com",  # under it
        "me@ACME.Example.com",  # any case
        "me@waiting.example.com",  # a domain still waiting for proof is the account's too
        "me@taken.example.com",  # proved here by another account
        "me@sub.taken.example.com",
    ],
)
def test_a_contact_on_a_hosted_domain_is_refused_in_settings(web, acme, make_account, address):
    db.session.add(Domain(account=acme, name="waiting.example.com"))
    make_account("Other", domains=("taken.example.com",))
    db.session.execute(sa.update(Domain).where(Domain.name == "taken.example.com").values(verified_at=utcnow()))
    db.session.commit()
    web.login("acme@owner.test")
    refused = set_contact(web, address)
    assert refused.status_code == 200
    assert HOSTED in page_text(refused) and "invalid-feedback" in refused.get_data(as_text=True)  # at the field
    assert "Other" not in page_text(refused)  # whose it is stays unsaid
    db.session.expire_all()
    assert account_named("Acme").emergency_email is None


def test_idn_domains_are_compared_as_a_labels(web, make_account):
    make_account("Bücher", domains=("xn--bcher-kva.example.com",))
    web.login("bücher@owner.test")
    refused = set_contact(web, "info@Bücher.example.com")
    assert HOSTED in page_text(refused) and "bücher.example.com" in page_text(refused)
    assert set_contact(web, "info@bücher-elsewhere.example.com").status_code == 302
    db.session.expire_all()
    assert account_named("Bücher").emergency_email == "info@xn--bcher-elsewhere-zvb.example.com"


def test_a_claim_of_another_account_still_waiting_is_no_refusal(web, acme, make_account):
    make_account("Other", domains=("someone-else.example.com",))
    web.login("acme@owner.test")
    assert set_contact(web, "me@someone-else.example.com").status_code == 302


def test_a_sub_account_contact_is_asked_for_and_checked(web, make_account, smtp, work):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test", domains=("resell.example.com",))
    make_account("Bakery", parent=reseller, domains=("bakery.example.com",))
    web.login("boss@resell.test")
    form = web.get("/reseller/accounts").get_data(as_text=True)
    assert 'name="emergency_email"' in form
    base = {"name": "Flowers", "owner_email": "flora@flowers.example.net"}
    missing = web.submit("/reseller/accounts", base)
    assert missing.status_code == 200 and "is ready" not in page_text(missing)
    for address in ("help@resell.example.com", "help@shop.resell.example.com", "help@bakery.example.com"):
        refused = web.submit("/reseller/accounts", {**base, "emergency_email": address})
        assert HOSTED in page_text(refused), address
    assert account_named("Flowers") is None
    made = web.submit("/reseller/accounts", {**base, "emergency_email": "help@flowers.example.net"})
    assert "is ready" in page_text(made)
    work()
    assert link_to(smtp, "help@flowers.example.net")
    flowers = account_named("Flowers")
    assert flowers.emergency_email == "help@flowers.example.net" and flowers.emergency_confirmed_at is None


def test_a_sub_account_cannot_use_its_resellers_domain_in_settings(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test", domains=("resell.example.com",))
    make_account("Bakery", parent=reseller, domains=("bakery.example.com",))
    web.login("bakery@owner.test")
    assert HOSTED in page_text(set_contact(web, "help@resell.example.com"))
    web.logout()
    web.login("boss@resell.test")  # and a reseller not its sub-accounts'
    assert HOSTED in page_text(set_contact(web, "help@bakery.example.com"))


def test_staff_see_the_contact_and_whether_it_is_confirmed(web, acme, make_staff):
    make_staff()
    acme.emergency_email = "help@elsewhere.example.org"
    db.session.commit()
    web.login("staff@hostdeck.test")
    line = re.search(
        r'id="emergency-contact">(.*?)</p>', web.get(f"/staff/accounts/{acme.id}").get_data(as_text=True), re.S
    )
    assert line and "help@elsewhere.example.org" in line.group(1) and "Waiting for confirmation" in line.group(1)
    acme.emergency_confirmed_at = utcnow()
    db.session.commit()
    line = re.search(
        r'id="emergency-contact">(.*?)</p>', web.get(f"/staff/accounts/{acme.id}").get_data(as_text=True), re.S
    )
    assert line and "Confirmed" in line.group(1)


def test_support_may_set_it_while_impersonating_and_both_names_are_kept(web, acme, make_staff, smtp, work):
    staff = make_staff()
    web.login("staff@hostdeck.test")
    owner = acme.users[0]
    assert web.submit("/", {"reason": "ticket #9"}, post_url=f"/impersonate/{owner.id}").status_code == 302
    page = page_text(web.get("/account/"))
    assert "are not available while you impersonate" in page and 'id="emergency-contact"' in page
    assert set_contact(web, "help@elsewhere.example.org").status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.emergency_contact"))
    assert (event.actor_id, event.real_actor_id, event.account_id) == (owner.id, staff.id, acme.id)


def test_a_reseller_acting_inside_a_sub_account_sets_that_ones(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    bakery = make_account("Bakery", parent=reseller)
    web.login("boss@resell.test")
    assert web.submit("/reseller/accounts", {"account_id": bakery.id}, post_url="/reseller/switch").status_code == 302
    assert "Emergency contact of Bakery" in page_text(web.get("/account/"))
    assert set_contact(web, "help@bakery-elsewhere.example.org").status_code == 302
    db.session.expire_all()
    assert account_named("Bakery").emergency_email == "help@bakery-elsewhere.example.org"
    assert account_named("Resell").emergency_email is None


def test_a_reseller_may_give_many_new_sub_accounts_its_own_support_address(web, make_account, smtp, work):
    make_account("Resell", kind="reseller", email="boss@resell.test")
    web.login("boss@resell.test")
    for n in range(5):  # past the hourly limit of links for one account
        data = {
            "name": f"Shop {n}",
            "owner_email": f"owner{n}@shops.example.net",
            "emergency_email": "help@resell.example.org",
        }
        assert "is ready" in page_text(web.submit("/reseller/accounts", data))
    work()
    assert len([m for m in smtp.messages if m["To"] == "help@resell.example.org"]) == 5
