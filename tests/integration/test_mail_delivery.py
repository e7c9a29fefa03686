"""Mail delivered by a real Postfix to a real Dovecot, all set up through the portal and a real worker."""

import smtplib
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Address, BackendLog, Status
from portal.services.addresses import create_address
from tests.helpers import customer_actor, domain_id, mailbox, new_address, new_mailbox, postfix_on

PW = "mail-password-1"


@pytest.fixture
def mx(app, mail_server, postfix, dovecot):
    """mail1 also runs Postfix: its maps and config folder are the test Postfix's."""
    with postfix_on(mail_server, postfix):
        yield postfix


@pytest.fixture
def shop(web, make_account, mx, work, dovecot):
    """Acme, logged in, with acme.test and other.test applied and mailboxes alice and bob."""
    make_account("Acme")
    web.login("acme@owner.test")
    for name in ("acme.test", "other.test"):
        assert web.submit("/domains/", {"name": name}).status_code == 302
    for name in ("alice", "bob"):
        new_mailbox_with_address(web, name)
    applied(work, mx)
    for name in ("alice", "bob"):
        assert dovecot.wait_login(f"{name}@acme.test", PW)  # Dovecot knows them before mail comes
    return mx


def new_mailbox_with_address(web, name, domain="acme.test"):
    response = new_mailbox(web, name, PW, domain=domain, quota=50, with_address=True)
    assert response.status_code == 302, response.get_data(as_text=True)


def applied(work, postfix):
    work()
    postfix.settle()


UNKNOWN = (550, "User unknown in virtual mailbox table")


def refusal(shop, recipient: str) -> tuple[int, str]:
    """How Postfix refuses a message to recipient at RCPT: its code and reason (nothing is sent)."""
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        shop.send("someone@other.test", [recipient], "Anyone there?", "This should not arrive.")
    code, reply = refused.value.recipients[recipient]
    return code, reply.decode().rsplit(": ", 1)[1]


def subjects(dovecot, user, count, timeout=15):
    return [m["Subject"] for m in dovecot.wait_for_messages(user, PW, count, timeout=timeout)]


def test_address_delivers_to_every_mailbox_and_forward(web, shop, work, dovecot):
    new_mailbox_with_address(web, "carol", "other.test")
    sales = new_address(web, "sales", mailboxes=["alice@acme.test", "bob@acme.test"], forwards="carol@other.test")
    assert sales.status_code == 302
    applied(work, shop)
    assert dovecot.wait_login("carol@other.test", PW)
    assert shop.postmap_query("aliases", "sales@acme.test") == "alice@acme.test, bob@acme.test, carol@other.test"
    assert db.session.scalar(sa.select(Address.status).where(Address.local_part == "sales")) == Status.APPLIED

    shop.send("someone@other.test", ["sales@acme.test"], "Order 42", "Two crates, please.")
    for user in ("alice@acme.test", "bob@acme.test", "carol@other.test"):
        assert "Order 42" in subjects(dovecot, user, 1)


def test_catch_all_and_deleted_address(web, shop, work, dovecot):
    assert refusal(shop, "nobody@acme.test") == UNKNOWN
    assert new_address(web, "", mailboxes=["bob@acme.test"], catch_all=True).status_code == 302
    assert new_address(web, "info", mailboxes=["alice@acme.test"]).status_code == 302
    applied(work, shop)
    shop.send("someone@other.test", ["nobody@acme.test"], "Caught", "by the catch-all")
    assert "Caught" in subjects(dovecot, "bob@acme.test", 1)

    catch_all = db.session.scalar(sa.select(Address.id).where(Address.local_part == ""))
    info = db.session.scalar(sa.select(Address.id).where(Address.local_part == "info"))
    web.submit(f"/addresses/{catch_all}/delete", {})
    web.submit(f"/addresses/{info}/delete", {})
    applied(work, shop)
    assert refusal(shop, "info@acme.test") == UNKNOWN  # it is gone
    assert shop.postmap_query("aliases", "info@acme.test") is None


def test_mailbox_without_its_address_gets_no_mail_from_outside(web, shop, work, dovecot):
    new_mailbox(web, "vault", PW, quota=50)
    assert new_address(web, "backup", mailboxes=["vault@acme.test"]).status_code == 302
    applied(work, shop)
    assert dovecot.wait_login("vault@acme.test", PW)
    assert refusal(shop, "vault@acme.test") == (554, "no such address")  # the private map's answer
    shop.send("someone@other.test", ["backup@acme.test"], "Via backup", "allowed")
    assert subjects(dovecot, "vault@acme.test", 1) == ["Via backup"]


def set_autoreply(web, name, start, end, message="I am away until Monday."):
    box = mailbox(name)
    response = web.submit(
        f"/mailboxes/{box.id}",
        {"enabled": "y", "subject": "Away", "message": message, "start": start.isoformat(), "end": end.isoformat()},
        post_url=f"/mailboxes/{box.id}/autoreply",
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_autoresponder_replies_only_until_its_end_date(web, shop, work, dovecot):
    if not dovecot.sieve:
        pytest.fail("dovecot-sieve is needed for vacation replies")
    today = date.today()
    set_autoreply(web, "alice@acme.test", today - timedelta(days=1), today + timedelta(days=1))
    applied(work, shop)
    shop.send("bob@acme.test", ["alice@acme.test"], "Lunch?", "Tomorrow at noon?", headers={"To": "alice@acme.test"})
    replies = dovecot.wait_for_messages("bob@acme.test", PW, 1, timeout=15)
    assert replies[0]["Subject"] == "Away"
    assert "I am away until Monday." in replies[0].get_payload(decode=True).decode()

    set_autoreply(web, "alice@acme.test", today - timedelta(days=5), today - timedelta(days=1))
    applied(work, shop)
    new_mailbox_with_address(web, "dave")
    applied(work, shop)
    assert dovecot.wait_login("dave@acme.test", PW)
    shop.send("dave@acme.test", ["alice@acme.test"], "Still there?", "?", headers={"To": "alice@acme.test"})
    assert "Still there?" in subjects(dovecot, "alice@acme.test", 2)  # delivered, so Sieve ran...
    time.sleep(2)
    assert dovecot.imap_fetch_all("dave@acme.test", PW) == []  # ...and sent no reply after the end date


def test_hundred_alias_changes_are_one_postmap_and_one_reload(web, shop, work, dovecot):
    actor, alice = customer_actor(), mailbox("alice@acme.test")
    for i in range(100):
        create_address(
            actor,
            local_part=f"alias{i}",
            catch_all=False,
            domain_id=domain_id("acme.test"),
            mailbox_ids=[alice.id],
            forwards=[],
        )
    db.session.commit()  # one request's worth
    log_start = len(shop.log_text())
    applied(work, shop)

    entry = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id.desc())).first()
    assert len(entry.operations) == 100 and entry.state.value == "SUCCESS"
    assert entry.script.count("hp_compiled=0") == 1  # one commit phase for Postfix
    assert shop.log_text()[log_start:].count("reload") == 1
    assert shop.postmap_query("aliases", "alias99@acme.test") == "alice@acme.test"
    shop.send("someone@other.test", ["alias57@acme.test"], "Via alias 57", "hello")
    assert "Via alias 57" in subjects(dovecot, "alice@acme.test", 1)
