"""The per-zone record limit joins the account limits: plans, a reseller's sub-account limits and
`flask plans` set it as "Most custom DNS records per zone", never below the fullest zone, and it is no
usage counter (the counted limits stay as they were)."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LIMITS, Account, Domain, Plan, Role, Status
from portal.models.dns import DnsRecord
from tests.helpers import account_named, domain_id, page_text

LABEL = "Most custom DNS records per zone"
ADMIN = "admin@hostdeck.test"


@pytest.fixture
def app_config():
    return {}


def _records(domain: str, n: int) -> None:
    zone = db.session.get(Domain, domain_id(domain))
    for i in range(n):
        db.session.add(
            DnsRecord(
                account_id=zone.account_id,
                domain=zone,
                name=f"r{i}",
                rtype="A",
                value="192.0.2.1",
                status=Status.APPLIED,
            )
        )
    db.session.commit()


def test_it_is_no_usage_counter():
    assert "records_per_zone" not in LIMITS


def test_a_plan_sets_it(web, make_staff):
    make_staff(ADMIN, role=Role.ADMIN)
    web.login(ADMIN)
    assert LABEL in web.get("/staff/plans/new").get_data(as_text=True)
    created = web.submit("/staff/plans/new", {"name": "Small", "mailboxes": "5", "records_per_zone": "20"})
    assert created.status_code == 302, page_text(created)
    plan = db.session.scalar(sa.select(Plan).where(Plan.name == "Small"))
    assert (plan.max_mailboxes, plan.max_records_per_zone) == (5, 20)
    assert LABEL in web.get(f"/staff/plans/{plan.id}").get_data(as_text=True)
    # Two plans differing only in it are two plans.
    other = web.submit("/staff/plans/new", {"name": "Small DNS", "mailboxes": "5", "records_per_zone": "5"})
    assert other.status_code == 302, page_text(other)


def test_a_plan_is_not_applied_below_the_fullest_zone(web, make_account, make_staff):
    make_account("Acme", domains=("acme.test", "acme2.test"))
    _records("acme.test", 1)
    _records("acme2.test", 3)
    make_staff(ADMIN, role=Role.ADMIN)
    tiny = Plan(name="Tiny", max_records_per_zone=2)
    db.session.add(tiny)
    db.session.commit()
    web.login(ADMIN)
    acme = account_named("Acme")
    refused = web.submit(f"/staff/plans/{tiny.id}", {"account_id": acme.id}, post_url=f"/staff/plans/{tiny.id}/apply")
    assert refused.status_code == 302
    shown = html.unescape(web.get(refused.location).get_data(as_text=True))
    assert "Acme already has 3 custom DNS records per zone; the limit cannot be lower than 3." in shown
    assert account_named("Acme").max_records_per_zone is None


def test_a_reseller_sets_it_within_its_own(web, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    reseller.max_records_per_zone = 10
    bakery = make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    _records("bakery.test", 4)
    web.login("boss@resell.test")
    url = f"/reseller/accounts/{bakery.id}/limits"
    assert LABEL in web.get(url).get_data(as_text=True)
    over = web.submit(url, {"records_per_zone": "11"})
    assert "Your own plan allows 10 custom DNS records per zone" in html.unescape(page_text(over))
    below = web.submit(url, {"records_per_zone": "3"})
    assert "Bakery already has 4 custom DNS records per zone" in html.unescape(page_text(below))
    ok = web.submit(url, {"records_per_zone": "6"})
    assert ok.status_code == 302
    assert db.session.scalar(sa.select(Account.max_records_per_zone).where(Account.id == bakery.id)) == 6


def test_the_reseller_is_not_limited_below_its_sub_accounts_zones(app, make_account):
    reseller = make_account("Resell", kind="reseller", email="boss@resell.test")
    make_account("Bakery", parent=reseller, email="owner@bakery.example.net", domains=("bakery.test",))
    _records("bakery.test", 4)
    result = app.test_cli_runner().invoke(args=["plans", "limit", "Resell", "--records-per-zone", "3"])
    assert result.exit_code != 0
    assert "already has 4 custom DNS records per zone" in result.output
    result = app.test_cli_runner().invoke(args=["plans", "limit", "Resell", "--records-per-zone", "4"])
    assert result.exit_code == 0, result.output
    assert account_named("Resell").max_records_per_zone == 4
