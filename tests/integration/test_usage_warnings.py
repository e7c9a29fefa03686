"""Warnings after a usage round: crossing 80% or 100% of a quota or limit sends one e-mail per crossing
(never one per round) to the confirmed emergency contact, else to the owners; through a real SMTP server
on loopback (aiosmtpd). The readings are stored as a round stores them (metering/store.py)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Mailbox, Server, Status, utcnow
from portal.models.metering import Crossing, Measured, Metric
from portal.orchestration.metering.store import store
from portal.orchestration.metering.warnings import after_round
from tests.helpers import mail_body
from tests.testbed.ports import free_port

PUBLIC = "https://portal.example"
MIB = 1024 * 1024
CONTACT = "help@elsewhere.example.org"


@pytest.fixture
def app_config(smtp):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "PUBLIC_URL": PUBLIC}


@pytest.fixture
def server(app):
    server = Server(name="mail1", host="localhost", transport="local", settings={})
    db.session.add(server)
    db.session.commit()
    return server


@pytest.fixture
def acme(make_account):
    account = make_account("Acme", domains=("acme.example.com",))
    account.emergency_email, account.emergency_confirmed_at = CONTACT, utcnow()
    db.session.commit()
    return account


def new_box(account, local: str = "box", quota_mb: int = 10) -> Mailbox:
    domain = db.session.scalar(sa.select(Domain).where(Domain.account_id == account.id))
    box = Mailbox(account=account, domain=domain, local_part=local, quota_mb=quota_mb, status=Status.APPLIED)
    db.session.add(box)
    db.session.commit()
    return box


def round_reads(server, box: Mailbox, megabytes: float, minutes: int = 0) -> None:
    """A round that measured the mailbox at this size, then the hook rounds.py calls."""
    at = utcnow() + timedelta(minutes=minutes)
    store(server.id, [Measured("Mailbox", box.id, box.account_id, Metric.MAIL_BYTES, int(megabytes * MIB), at)])
    db.session.commit()
    after_round(server.id)


def mails(smtp, to: str = CONTACT) -> list:
    return [m for m in smtp.messages if m["To"] == to]


def crossings(account) -> set[tuple[str, int]]:
    return {
        (c.subject, c.level) for c in db.session.scalars(sa.select(Crossing).where(Crossing.account_id == account.id))
    }


def test_a_quota_crossing_sends_one_mail_to_the_contact_and_none_on_the_next_round(server, acme, smtp):
    box = new_box(acme)
    round_reads(server, box, 7)  # 70%: nothing yet
    assert smtp.messages == []
    round_reads(server, box, 8.5, minutes=1)
    [warning] = smtp.messages
    assert warning["To"] == CONTACT
    assert "box@acme.example.com" in warning["Subject"] and "80%" in warning["Subject"]
    text = mail_body(warning)
    assert f"{PUBLIC}/mailboxes/{box.id}" in text and "of its 10 MB quota" in text
    assert crossings(acme) == {(f"Mailbox:{box.id}:mail_bytes", 80)}
    round_reads(server, box, 8.7, minutes=2)  # still over: the next round says nothing
    assert len(smtp.messages) == 1


def test_going_under_and_over_again_warns_again(server, acme, smtp):
    box = new_box(acme)
    round_reads(server, box, 9)
    round_reads(server, box, 5, minutes=1)  # messages deleted: under 80%, the crossing is forgotten
    assert crossings(acme) == set()
    round_reads(server, box, 9, minutes=2)
    assert len(mails(smtp)) == 2


def test_100_after_80_and_100_at_once_supersedes_80(server, acme, smtp):
    box = new_box(acme)
    round_reads(server, box, 8.5)
    round_reads(server, box, 10.2, minutes=1)
    first, second = mails(smtp)
    assert "80%" in first["Subject"] and "is full" in second["Subject"]
    round_reads(server, box, 9, minutes=2)  # back to 90%: 80% was told already
    assert len(mails(smtp)) == 2
    assert crossings(acme) == {(f"Mailbox:{box.id}:mail_bytes", 80)}

    other = new_box(acme, "other")
    round_reads(server, other, 12, minutes=3)  # straight past 100%: one mail, saying full
    [full] = [m for m in mails(smtp) if "other@" in m["Subject"]]
    assert "is full" in full["Subject"]
    assert {(f"Mailbox:{other.id}:mail_bytes", 80), (f"Mailbox:{other.id}:mail_bytes", 100)} <= crossings(acme)


def test_a_limit_crossing_warns_once(server, acme, smtp):
    acme.max_mailboxes = 10
    db.session.commit()
    boxes = [new_box(acme, f"b{i}", quota_mb=1000) for i in range(7)]
    round_reads(server, boxes[0], 1)
    assert smtp.messages == []  # 7 of 10
    boxes.append(new_box(acme, "b7", quota_mb=1000))
    round_reads(server, boxes[0], 1, minutes=1)
    [warning] = mails(smtp)
    assert "Acme" in warning["Subject"] and "80%" in warning["Subject"] and "mailboxes" in warning["Subject"]
    assert "It has 8 mailboxes; its limit is 10 mailboxes." in mail_body(warning)
    assert f"{PUBLIC}/mailboxes/" in mail_body(warning)
    round_reads(server, boxes[0], 1, minutes=2)
    assert len(mails(smtp)) == 1
    assert crossings(acme) == {("limit:mailboxes", 80)}


def test_without_a_confirmed_contact_the_owners_are_told(server, make_account, smtp):
    account = make_account("Bakery", domains=("bakery.example.com",))
    account.emergency_email = "unconfirmed@elsewhere.example.org"  # maybe a typo: not written to
    db.session.commit()
    round_reads(server, new_box(account), 9)
    assert [m["To"] for m in smtp.messages] == ["bakery@owner.test"]


def test_a_mail_that_cannot_go_breaks_no_round_and_is_tried_again(app, server, acme, smtp):
    box = new_box(acme)
    app.config["SMTP_PORT"] = free_port()  # nobody listens there
    round_reads(server, box, 9)  # logged, not raised
    assert crossings(acme) == set()
    app.config["SMTP_PORT"] = smtp.port
    round_reads(server, box, 9, minutes=1)
    assert len(mails(smtp)) == 1


def test_only_the_accounts_of_the_round_are_looked_at(server, acme, make_account, smtp):
    other_server = Server(name="mail2", host="localhost", transport="local", settings={})
    db.session.add(other_server)
    db.session.commit()
    box = new_box(acme)
    store(other_server.id, [Measured("Mailbox", box.id, acme.id, Metric.MAIL_BYTES, 9 * MIB, utcnow())])
    db.session.commit()
    server_id = server.id
    after_round(server_id)  # mail1 measured nobody
    assert smtp.messages == []
    after_round(other_server.id)
    assert len(mails(smtp)) == 1


def test_each_reader_is_written_to_in_their_language(server, make_account, smtp):
    account = make_account("Panaderia", domains=("panaderia.example.com",))
    owner = account.users[0]
    owner.locale = "es"
    account.max_mailboxes = 5
    db.session.commit()
    boxes = [new_box(account, f"b{i}") for i in range(4)]
    round_reads(server, boxes[0], 1)
    [warning] = smtp.messages
    assert warning["To"] == "panaderia@owner.test"
    assert "4 buzones" in mail_body(warning) and "5 buzones" in mail_body(warning)
