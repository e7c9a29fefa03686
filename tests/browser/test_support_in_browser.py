"""Headless Chromium: a staff member logs in with TOTP, finds a customer by domain, impersonates them
with a reason, creates a mailbox for them and stops; the customer then reads what happened."""

import pytest

from portal.extensions import db
from tests.helpers import browser_new_mailbox, enrol_totp, nav_to, user_named

pytestmark = pytest.mark.browser
REASON = "ticket #1234: customer cannot add a mailbox"


def test_staff_impersonate_a_customer_found_by_domain(live_server, start_worker, logged_in_page, screenshot, dovecot):
    staff = user_named("staff@example.com")
    enrol_totp(staff)
    db.session.commit()
    start_worker()

    page, problems = logged_in_page(live_server, "staff@example.com", totp_user=staff)

    nav_to(page, "Accounts")
    page.fill("input[name=q]", "shop.example.org")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#accounts tbody tr")
    assert row.count() == 1 and "domain: shop.example.org" in row.inner_text()
    row.get_by_role("link", name="Demo Customer").click()

    logins = page.locator("#logins tr", has_text="customer@example.com")
    logins.locator("input[name=reason]").fill(REASON)
    logins.get_by_role("button", name="Impersonate").click()
    page.wait_for_url(f"{live_server}/")
    banner = page.locator("#impersonation-banner")
    assert "staff@example.com is impersonating customer@example.com" in " ".join(banner.inner_text().split())

    nav_to(page, "Mailboxes")
    browser_new_mailbox(page, "helped", "example.org", "quiet-meadow-pass-123")
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    assert page.locator("#impersonation-banner").is_visible()
    screenshot(page, "impersonation.png")
    assert dovecot.wait_login("helped@example.org", "quiet-meadow-pass-123")

    page.click("#impersonation-banner >> text=Stop impersonating")
    page.wait_for_url(f"{live_server}/staff/accounts/*")
    assert page.locator("#impersonation-banner").count() == 0
    assert problems == [], f"browser console errors (CSP?): {problems}"
    page.close()

    customer, problems = logged_in_page(live_server, "customer@example.com")
    nav_to(customer, "Activity")
    events = " ".join(customer.locator("#events").inner_text().split())
    assert f"Support (staff@example.com) accessed your account: {REASON}" in events
    assert "staff@example.com (support) as customer@example.com" in events
    assert "Mailbox helped@example.org saved (new password)" in events
    assert "Support (staff@example.com) left your account" in events
    assert problems == []
