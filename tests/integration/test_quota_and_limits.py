"""A limit below what an account already has is refused with the figures, wherever limits are set (the
reseller's limits form, the operator's commands); a mailbox's quota changes after creation, within the
account's mail quota, and the new quota reaches the real Dovecot."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, AuditEvent, Domain, Mailbox, Plan, Status
from tests.helpers import account_named, count, mailbox, new_mailbox

P1 = "quota-Pässword-1"


def give_mailboxes(account: Account, n: int, quota: int = 10) -> None:
    """n applied mailboxes on the account's first domain, straight into the database (the counters follow)."""
    domain = db.session.scalar(sa.select(Domain).where(Domain.account_id == account.id))
    db.session.add_all(
        [
            Mailbox(account=account, domain=domain, local_part=f"box{i}", quota_mb=quota, status=Status.APPLIED)
            for i in range(n)
        ]
    )
    db.session.commit()


@pytest.fixture
def bakery(web, make_account, mailhost):
    """Reseller Resell (logged in) and its sub-account Bakery, which has 3 mailboxes of 10 MB."""
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    found = make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    give_mailboxes(found, 3)
    web.login("boss@resell.test")
    return found


def test_the_resellers_limits_form_refuses_a_limit_below_usage(web, bakery):
    page = f"/reseller/accounts/{bakery.id}/limits"
    refused = web.submit(page, {"mailboxes": "2", "domains": "5"})
    assert refused.status_code == 200
    assert "Bakery already has 3 mailboxes; the limit cannot be lower than 3." in refused.get_data(as_text=True)
    quota = web.submit(page, {"quota_mb": "20"}).get_data(as_text=True)
    assert "Bakery already has 30 MB of mail quota; the limit cannot be lower than 30." in quota
    db.session.refresh(bakery)
    assert (bakery.max_mailboxes, bakery.max_domains, bakery.max_quota_mb) == (None, None, None)  # nothing changed
    assert count(AuditEvent, AuditEvent.action == "account.limits") == 0

    assert web.submit(page, {"mailboxes": "3", "quota_mb": "30"}).status_code == 302  # exactly what it has: fine
    db.session.refresh(bakery)
    assert (bakery.max_mailboxes, bakery.max_quota_mb) == (3, 30)


def test_the_commands_refuse_limits_and_plans_below_usage(app, make_account, local_server):
    acme = make_account("Acme", domains=("acme.test",))
    give_mailboxes(acme, 3)
    runner = app.test_cli_runner()
    below = "Acme already has 3 mailboxes; the limit cannot be lower than 3."

    limit = runner.invoke(args=["plans", "limit", "Acme", "--mailboxes", "2"])
    assert limit.exit_code == 1 and below in limit.output, limit.output
    assert runner.invoke(args=["plans", "create", "small", "--mailboxes", "2"]).exit_code == 0
    apply = runner.invoke(args=["plans", "apply", "small", "Acme"])
    assert apply.exit_code == 1 and below in apply.output, apply.output
    db.session.refresh(acme)
    assert acme.max_mailboxes is None

    assert runner.invoke(args=["plans", "create", "big", "--mailboxes", "5"]).exit_code == 0
    assert runner.invoke(args=["plans", "apply", "big", "Acme"]).exit_code == 0
    db.session.refresh(acme)
    assert acme.max_mailboxes == 5
    # Replacing a plan is editing it: the accounts on it follow, so it may not go below what they have.
    edit = runner.invoke(args=["plans", "create", "big", "--mailboxes", "2"])
    assert edit.exit_code == 1 and below in edit.output, edit.output
    assert db.session.scalar(sa.select(Plan.max_mailboxes).where(Plan.name == "big")) == 5
    assert runner.invoke(args=["plans", "create", "big", "--mailboxes", "4"]).exit_code == 0
    db.session.refresh(acme)
    assert acme.max_mailboxes == 4  # the account on the plan follows its edit


def test_quota_change_reaches_dovecot(web, make_account, mail_server, dovecot, work):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    assert new_mailbox(web, "alice", P1, quota=100).status_code == 302
    work()
    box = mailbox("alice@acme.test")
    assert "userdb_quota_rule=*:storage=100M" in dovecot.passwd_file.read_text()

    page = f"/mailboxes/{box.id}"
    assert "Change quota" in web.get(page).get_data(as_text=True)
    changed = web.submit(page, {"quota_mb": "300"}, post_url=f"{page}/quota")
    assert changed.status_code == 302, changed.get_data(as_text=True)
    db.session.refresh(box)
    assert box.quota_mb == 300 and box.status == Status.PENDING
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED, box.last_error
    text = dovecot.passwd_file.read_text()
    assert "userdb_quota_rule=*:storage=300M" in text and "storage=100M" not in text
    assert dovecot.wait_login("alice@acme.test", P1)  # the password on the server stays
    quota = dovecot.doveadm("quota", "get", "-u", "alice@acme.test")
    assert quota.returncode == 0, quota.stderr
    assert "307200" in quota.stdout, quota.stdout  # 300 MB, in KiB, as Dovecot now enforces it
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mailbox.quota"))
    assert event.fields == {"quota_mb": 300, "was": 100}


def test_a_quota_above_what_is_left_is_refused(web, make_account, local_server):
    acme = make_account("Acme", domains=("acme.test",))
    acme.max_quota_mb = 150
    db.session.commit()
    web.login("acme@owner.test")
    assert new_mailbox(web, "alice", P1, quota=100).status_code == 302
    box = mailbox("alice@acme.test")
    page = f"/mailboxes/{box.id}"

    refused = web.submit(page, {"quota_mb": "200"}, post_url=f"{page}/quota")
    assert refused.status_code == 400
    assert "Your plan allows 150 MB of mail quota and 100 are in use." in refused.get_data(as_text=True)
    db.session.refresh(box)
    assert box.quota_mb == 100
    assert account_named("Acme").used_quota_mb == 100

    assert web.submit(page, {"quota_mb": "150"}, post_url=f"{page}/quota").status_code == 302  # all that is left
    assert web.submit(page, {"quota_mb": "20"}, post_url=f"{page}/quota").status_code == 302  # lower: always
    db.session.refresh(box)
    assert box.quota_mb == 20 and account_named("Acme").used_quota_mb == 20
    bad = web.submit(page, {"quota_mb": "5"}, post_url=f"{page}/quota").get_data(as_text=True)
    assert "Choose 10 to 102400 MB." in bad
