"""From a full mailbox to one e-mail: mail delivered through the real Dovecot's LMTP past 80% of a small
quota, a real usage round over the test sshd, and the warning at the emergency contact's real SMTP
server (aiosmtpd). The next round sends nothing more."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Status, utcnow
from portal.models.metering import Crossing
from tests.helpers import mailbox, mailing_config, new_mailbox
from tests.integration.test_usage_sizes import PW, deliver, need_lmtp, own_state_dir, round_on

CONTACT = "oncall@elsewhere.example.org"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return mailing_config(redis_server, sshd, smtp, SERVER_LOCK_TTL=2, PUBLIC_URL="https://portal.example")


def test_a_mailbox_filled_past_80_percent_warns_its_contact_once(acme, web, work, dovecot, smtp, tmp_path):
    need_lmtp(dovecot)
    own_state_dir(acme, tmp_path)
    account = db.session.scalar(sa.select(Account).where(Account.name == "Acme"))
    account.emergency_email, account.emergency_confirmed_at = CONTACT, utcnow()
    db.session.commit()
    assert new_mailbox(web, "small", PW, quota=10).status_code == 302
    work()
    box = mailbox("small@acme.test")
    assert box.status == Status.APPLIED and dovecot.wait_login("small@acme.test", PW)

    assert round_on(acme)["state"] == "SUCCESS"
    assert smtp.messages == []  # empty: nothing crossed
    deliver(dovecot, "small@acme.test", "Big", ("x" * 998 + "\r\n") * 8_800)  # 84% of 10 MiB
    dovecot.wait_for_messages("small@acme.test", PW, 1)

    assert round_on(acme)["state"] == "SUCCESS"
    sent = [m for m in smtp.messages if m["To"] == CONTACT]
    assert len(sent) == 1, [m["Subject"] for m in smtp.messages]
    assert "80%" in sent[0]["Subject"] and "small@acme.test" in sent[0]["Subject"]
    assert f"/mailboxes/{box.id}" in sent[0].as_string()
    levels = db.session.scalars(sa.select(Crossing.level).where(Crossing.account_id == account.id)).all()
    assert levels == [80]

    assert round_on(acme)["state"] == "SUCCESS"
    assert len([m for m in smtp.messages if m["To"] == CONTACT]) == 1  # one per crossing, not per round
