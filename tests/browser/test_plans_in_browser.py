"""Headless Chromium: an admin edits a plan in the staff console, applies it to the demo customer found by
search, and reads the new limits on the customer's staff account page."""

import pytest

from portal.extensions import db
from portal.models import Plan
from tests.helpers import enrol_totp, user_named

pytestmark = pytest.mark.browser


def test_admin_edits_a_plan_and_applies_it(live_server, logged_in_page, screenshot):
    admin = user_named("admin@example.com")
    enrol_totp(admin)
    db.session.add(Plan(name="Basic", max_mailboxes=5, max_quota_mb=5000))
    db.session.commit()

    page, problems = logged_in_page(live_server, "admin@example.com", totp_user=admin)
    page.goto(f"{live_server}/staff/plans")
    assert "Basic" in page.locator("#plans").inner_text()
    page.locator("#plans").get_by_role("link", name="Basic").click()

    plan_url = page.url
    edit = page.locator("#edit-plan")
    edit.locator("input[name=mailboxes]").fill("20")
    edit.locator("input[type=submit]").click()
    page.wait_for_selector("text=Plan Basic saved")
    assert "20" in page.locator("#plan-limits").inner_text()

    page.fill("input[name=q]", "Demo Customer")
    page.get_by_role("button", name="Search").click()
    row = page.locator("#apply-to tbody tr", has_text="Demo Customer")
    row.get_by_role("button", name="Apply plan").click()
    page.wait_for_url(f"{live_server}/staff/accounts/*")
    assert "Demo Customer now has the limits of plan Basic." in page.locator("body").inner_text()
    limits = page.locator("#limits")
    mailboxes = " ".join(limits.locator("tr", has_text="Mailboxes").inner_text().split())
    quota = " ".join(limits.locator("tr", has_text="MB of mail quota").inner_text().split())
    assert mailboxes.endswith("of 20") and quota.endswith("of 5,000"), (mailboxes, quota)
    screenshot(page, "plan-applied.png")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing overflows sideways
    for url, name in ((f"{live_server}/staff/plans", "plans-narrow.png"), (plan_url + "?q=example", "plan-narrow.png")):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
        screenshot(page, name)
    assert problems == [], f"browser console errors (CSP?): {problems}"
