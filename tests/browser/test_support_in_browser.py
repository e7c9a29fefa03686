"""Headless Chromium: a staff member logs in with TOTP, finds a customer by domain, impersonates them
with a reason, creates a mailbox for them and stops; the customer then reads what happened."""

import pyotp
import pytest
import sqlalchemy as sa

from portal.cli.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import User
from portal.security import totp

# The fixtures of the mailbox browser tests: the demo on a real Dovecot, a live server, a worker.
from tests.browser.conftest import ARTIFACTS, logged_in
from tests.conftest import enrol_totp

pytestmark = pytest.mark.browser
REASON = "ticket #1234: customer cannot add a mailbox"


def test_staff_impersonate_a_customer_found_by_domain(live_server, start_worker, browser, dovecot):
    staff = db.session.scalar(sa.select(User).where(User.email == "staff@example.com"))
    enrol_totp(staff)
    db.session.commit()
    start_worker()

    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "staff@example.com")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/login/two-factor")
    page.fill("input[name=code]", pyotp.TOTP(totp.seed_of(staff)).now())
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.click("nav >> text=Accounts")
    page.fill("input[name=q]", "shop.example.org")
    page.click("button:has-text('Search')")
    row = page.locator("#accounts tbody tr")
    assert row.count() == 1 and "domain: shop.example.org" in row.inner_text()
    row.get_by_role("link", name="Demo Customer").click()

    logins = page.locator("#logins tr", has_text="customer@example.com")
    logins.locator("input[name=reason]").fill(REASON)
    logins.get_by_role("button", name="Impersonate").click()
    page.wait_for_url(f"{live_server}/")
    banner = page.locator("#impersonation-banner")
    assert "staff@example.com is impersonating customer@example.com" in " ".join(banner.inner_text().split())

    page.click("nav >> text=Mailboxes")
    page.click("text=New mailbox")
    page.fill("input[name=local_part]", "helped")
    page.select_option("select[name=domain_id]", label="example.org")
    page.fill("input[name=password]", "helped-pass-123")
    page.fill("input[name=confirm]", "helped-pass-123")
    page.click("input[type=submit][value='Create mailbox']")
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    assert page.locator("#impersonation-banner").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "impersonation.png"), full_page=True)
    assert dovecot.wait_login("helped@example.org", "helped-pass-123")

    page.click("#impersonation-banner >> text=Stop impersonating")
    page.wait_for_url(f"{live_server}/staff/accounts/*")
    assert page.locator("#impersonation-banner").count() == 0
    assert problems == [], f"browser console errors (CSP?): {problems}"
    page.close()

    customer, problems = logged_in(browser, live_server, "customer@example.com")
    customer.click("nav >> text=Activity")
    events = " ".join(customer.locator("#events").inner_text().split())
    assert f"Support (staff@example.com) accessed your account: {REASON}" in events
    assert "staff@example.com (support) as customer@example.com" in events
    assert "Mailbox helped@example.org saved (new password)" in events
    assert "Support (staff@example.com) left your account" in events
    assert problems == []
