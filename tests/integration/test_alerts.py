"""Staff get one e-mail per incident, not one per retry; escaped, without secrets or script."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Status, utcnow
from portal.orchestration.dispatch import sweep
from tests.helpers import mail_body, mailbox, mailing_config, new_mailbox
from tests.testbed.ports import free_port

CANARY = "Canary-in-alert-4242"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return mailing_config(redis_server, sshd, smtp, RETRY_DELAYS="0,0,0", PUBLIC_URL="https://portal.example")


def run_until_settled(work):
    for _ in range(10):
        work()
        if not sweep():
            return


def test_one_email_per_incident(web, make_account, make_staff, mail_server, work, smtp, sshd):
    make_staff("oncall@hostdeck.test")
    good_port = mail_server.port
    mail_server.name = "mail<b>1</b>"
    mail_server.port = free_port()  # nothing listens: connection refused, an ERROR
    db.session.commit()
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice", CANARY)

    run_until_settled(work)

    states = db.session.scalars(sa.select(BackendLog.state).order_by(BackendLog.id)).all()
    assert states == [LogState.ERROR] * 4  # the first try and three retries
    assert mailbox("alice@acme.test").status == Status.FAILED
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "oncall@hostdeck.test"
    assert "ERROR on mail<b>1</b>" in message["Subject"]
    html, text = mail_body(message, "html"), mail_body(message, "plain")
    first_log = db.session.scalars(sa.select(BackendLog.id).order_by(BackendLog.id)).first()
    assert "mail&lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html
    assert f"https://portal.example/staff/logs/{first_log}" in html
    assert "Mailbox alice@acme.test (save)" in text
    assert "cannot connect" in text
    for part in (html, text, message["Subject"]):
        assert CANARY not in part and "$6$" not in part and "set -euo pipefail" not in part

    # Fixed: a success closes the incident; the next failure opens a new one, with a new e-mail.
    mail_server.port = good_port
    db.session.commit()
    op = db.session.scalars(sa.select(Operation).order_by(Operation.id.desc())).first()
    op.state, op.retry_at = OpState.PENDING, None
    db.session.commit()
    sweep()
    work()
    assert mailbox("alice@acme.test").status == Status.APPLIED
    assert mail_server.incident_log_id is None
    mail_server.port = free_port()
    db.session.commit()
    web.submit(f"/mailboxes/{mailbox('alice@acme.test').id}/delete", {})
    run_until_settled(work)
    assert len(smtp.messages) == 2


def test_an_incident_reaches_the_confirmed_emergency_contact_of_an_account_it_holds_up(
    web, make_account, make_staff, mail_server, work, smtp
):
    make_staff("oncall@hostdeck.test")
    mail_server.port = free_port()  # nothing listens: connection refused, an ERROR
    acme = make_account("Acme", domains=("acme.test",))
    acme.emergency_email, acme.emergency_confirmed_at = "help@elsewhere.example.org", utcnow()
    db.session.commit()
    web.login("acme@owner.test")
    new_mailbox(web, "alice", CANARY)

    run_until_settled(work)

    assert sorted(m["To"] for m in smtp.messages) == ["help@elsewhere.example.org", "oncall@hostdeck.test"]
    [told] = [m for m in smtp.messages if m["To"] == "help@elsewhere.example.org"]
    assert "Acme" in told["Subject"]
    text = mail_body(told, "plain")
    assert "https://portal.example/" in text and mail_server.name not in text  # no server names to customers
    for part in (mail_body(told, "html"), text, told["Subject"]):
        assert CANARY not in part and "$6$" not in part
