"""The staff console's plans page: admins create and edit plans, staff apply them to an account found by
search; a plan edited or applied below what an account already has is refused with the figures."""

import pytest
import sqlalchemy as sa

from portal.cli.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.models import AuditEvent, Plan, Role
from portal.services.plans import limits_of
from tests.helpers import account_named, count, enrol_totp, user_named
from tests.integration.test_quota_and_limits import give_mailboxes

ADMIN, STAFF = "admin@hostdeck.test", "staff@hostdeck.test"


@pytest.fixture
def app_config():
    return {}


@pytest.fixture
def people(make_account, make_staff, local_server):
    acme = make_account("Acme", domains=("acme.test",))
    give_mailboxes(acme, 3)
    make_staff()
    make_staff(ADMIN, role=Role.ADMIN)
    return acme


def new_plan(web, name="Small", **limits):
    return web.submit("/staff/plans/new", {"name": name, **{k: str(v) for k, v in limits.items()}})


def plan_named(name: str) -> Plan | None:
    return db.session.scalar(sa.select(Plan).where(Plan.name == name))


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_only_staff_see_plans(web, people):
    plan = Plan(name="Small", max_mailboxes=5)
    db.session.add(plan)
    db.session.commit()
    web.login("acme@owner.test")
    for url in ("/staff/plans", "/staff/plans/new", f"/staff/plans/{plan.id}"):
        assert web.get(url).status_code == 404, url
    token = web.token("/")
    for url in ("/staff/plans/new", f"/staff/plans/{plan.id}/edit", f"/staff/plans/{plan.id}/apply"):
        got = web.client.post(url, data={"csrf_token": token, "name": "Big", "account_id": people.id})
        assert got.status_code == 404, url
    assert account_named("Acme").max_mailboxes is None and plan_named("Big") is None


def test_admin_creates_and_edits_staff_apply(web, people):
    web.login(ADMIN)
    assert web.get("/staff/plans").status_code == 200
    created = new_plan(web, "Small", mailboxes=5, quota_mb=500)
    assert created.status_code == 302, created.get_data(as_text=True)
    small = plan_named("Small")
    assert (small.max_mailboxes, small.max_quota_mb, small.max_domains) == (5, 500, None)
    assert "plan.create" in actions()
    assert "already" in new_plan(web, "Small", mailboxes=9).get_data(as_text=True)  # one plan of a name
    web.logout()

    web.login(STAFF)
    listing = web.get("/staff/plans").get_data(as_text=True)
    assert "Small" in listing and 'id="plans"' in listing
    page = web.get(f"/staff/plans/{small.id}?q=acme.test").get_data(as_text=True)
    assert "Acme" in page and "domain: acme.test" in page  # found by search, to apply the plan to
    # Plans are what the business sells: staff apply them, only admins change them.
    assert (
        web.submit(
            f"/staff/plans/{small.id}", {"name": "Small", "mailboxes": "50"}, post_url=f"/staff/plans/{small.id}/edit"
        ).status_code
        == 403
    )
    assert web.submit("/staff/plans", {"name": "Free"}, post_url="/staff/plans/new").status_code == 403
    applied = web.submit(
        f"/staff/plans/{small.id}", {"account_id": people.id}, post_url=f"/staff/plans/{small.id}/apply"
    )
    assert applied.status_code == 302 and applied.location.endswith(f"/staff/accounts/{people.id}")
    acme = account_named("Acme")
    assert (acme.max_mailboxes, acme.max_quota_mb) == (5, 500)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.plan"))
    assert event.account_id == acme.id and event.fields["plan"] == "Small"
    assert "1 account" in web.get("/staff/plans").get_data(as_text=True)
    web.logout()

    web.login(ADMIN)
    edited = web.submit(
        f"/staff/plans/{small.id}",
        {"name": "Small", "mailboxes": "8", "quota_mb": "500"},
        post_url=f"/staff/plans/{small.id}/edit",
    )
    assert edited.status_code == 302, edited.get_data(as_text=True)
    assert plan_named("Small").max_mailboxes == 8
    assert account_named("Acme").max_mailboxes == 8  # the accounts on the plan follow it
    assert "plan.edit" in actions()
    assert "Plan Small saved; the 1 account on it follows." in web.get(edited.location).get_data(as_text=True)


def test_a_plan_edited_below_an_accounts_usage_is_refused(web, people):
    plan = Plan(name="Small", max_mailboxes=5)
    db.session.add(plan)
    people.max_mailboxes = 5  # Acme is on it
    db.session.commit()
    web.login(ADMIN)
    before = count(AuditEvent)
    refused = web.submit(
        f"/staff/plans/{plan.id}", {"name": "Smaller", "mailboxes": "2"}, post_url=f"/staff/plans/{plan.id}/edit"
    )
    assert refused.status_code == 200
    assert "Acme already has 3 mailboxes; the limit cannot be lower than 3." in refused.get_data(as_text=True)
    db.session.refresh(plan)
    assert (plan.name, plan.max_mailboxes) == ("Small", 5)
    assert account_named("Acme").max_mailboxes == 5
    assert count(AuditEvent) == before  # nothing changed, nothing audited


def test_a_plan_applied_below_usage_is_refused(web, people):
    tiny = Plan(name="Tiny", max_mailboxes=1, max_domains=3)
    db.session.add(tiny)
    db.session.commit()
    web.login(STAFF)
    refused = web.submit(f"/staff/plans/{tiny.id}", {"account_id": people.id}, post_url=f"/staff/plans/{tiny.id}/apply")
    assert refused.status_code == 302
    shown = web.get(refused.location).get_data(as_text=True)
    assert "Acme already has 3 mailboxes; the limit cannot be lower than 3." in shown
    acme = account_named("Acme")
    assert (acme.max_mailboxes, acme.max_domains) == (None, None)
    assert "account.plan" not in actions()


def test_the_demo_has_a_starter_plan_on_its_customer(web, app, tmp_path):
    assert seed_demo(str(tmp_path / "demo-server"))
    starter = plan_named("Starter")
    assert starter is not None
    assert all(starter.limit(kind) is not None for kind in ("domains", "mailboxes", "quota_mb", "databases"))
    assert limits_of(account_named("Demo Customer")) == limits_of(starter)  # the customer is on it
    enrol_totp(user_named("staff@example.com"))  # the console asks staff for two-factor login
    db.session.commit()
    web.login("staff@example.com", DEMO_PASSWORD)
    listing = web.get("/staff/plans").get_data(as_text=True)
    assert "Starter" in listing.split('id="plans"', 1)[1] and "1 account" in listing
    shown = web.get(f"/staff/plans/{starter.id}").get_data(as_text=True)
    assert "Demo Customer" in shown


def test_seeding_the_demo_again_adds_the_plan_once(app, tmp_path):
    root = str(tmp_path / "demo-server")
    assert seed_demo(root)
    db.session.execute(sa.delete(Plan))  # a demo seeded before it had a plan
    db.session.commit()
    assert not seed_demo(root)  # the logins are there already
    assert not seed_demo(root)
    assert count(Plan) == 1 and plan_named("Starter") is not None
    assert limits_of(account_named("Demo Customer")) == limits_of(plan_named("Starter"))
