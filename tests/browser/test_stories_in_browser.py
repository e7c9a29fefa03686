"""Headless Chromium, a story each: the usage bars against a limit, a reseller's account column and
filter, the page that asks before a sub-account is suspended, what a suspended owner is told at
login, and the whole portal in Spanish."""

import pytest

from portal.cli.demo import DEMO_PASSWORD
from portal.extensions import db
from tests.helpers import account_named, nav_to

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_usage_against_the_limits(live_server, logged_in_page, screenshot):
    customer = account_named("Demo Customer")
    # The demo's Starter plan limits addresses too: here they have no limit.
    customer.max_domains, customer.max_mailboxes, customer.max_addresses = 2, 4, None
    db.session.commit()
    page, problems = logged_in_page(live_server, "customer@example.com")
    domains = page.locator('[data-limit="domains"]')
    assert "2 of 2" in domains.inner_text() and "Limit reached" in domains.inner_text()
    assert domains.locator("progress").get_attribute("value") == "100"
    mailboxes = page.locator('[data-limit="mailboxes"]')
    assert "0 of 4" in mailboxes.inner_text() and "no limit" in page.locator('[data-limit="addresses"]').inner_text()
    screenshot(page, "dashboard-limits.png")
    assert problems == []


def test_a_reseller_sees_whose_each_row_is_and_filters_by_account(live_server, logged_in_page):
    page, problems = logged_in_page(live_server, "reseller@example.com")
    nav_to(page, "Domains")
    table = page.locator("table")
    assert "Account" in table.locator("thead").inner_text()
    rows = table.locator("tbody tr")
    owners = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
    assert {"Demo Reseller", "Demo Customer"} <= owners
    page.select_option("select[name=account]", label="Demo Customer")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**account=*")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    assert {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())} == {"Demo Customer"}
    assert problems == []


def test_suspending_asks_first_and_the_owner_is_told_at_login(live_server, logged_in_page, browser):
    page, problems = logged_in_page(live_server, "reseller@example.com")
    nav_to(page, "Sub-accounts")
    page.locator("tr", has_text="Demo Customer").get_by_role("link", name="Suspend…").click()
    assert page.locator("h1").inner_text() == "Suspend Demo Customer?"
    assert page.locator("#stopping").inner_text()  # what stops with it
    assert account_named("Demo Customer").active  # asking changed nothing
    page.get_by_role("button", name="Suspend Demo Customer").click()
    page.wait_for_url(f"{live_server}/reseller/accounts")
    db.session.expire_all()
    assert not account_named("Demo Customer").active

    owner = browser.new_page()
    owner.goto(f"{live_server}/login")
    owner.fill("input[name=email]", "customer@example.com")
    owner.fill("input[name=password]", DEMO_PASSWORD)
    owner.click("input[type=submit]")
    text = owner.locator("main").inner_text()
    assert "suspended" in text and "Demo Reseller" in text and "Wrong e-mail or password" not in text
    owner.close()
    assert problems == []


def test_the_portal_in_spanish(live_server, browser, screenshot):
    context = browser.new_context(locale="es-ES", extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_text("Contraseña").first.is_visible()
    page.fill("input[name=email]", "customer@example.com")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    sidebar = page.locator("#sidebar").inner_text()
    assert "Buzones" in sidebar and "Dominios" in sidebar and "Mailboxes" not in sidebar
    assert "Uso" in page.locator("#usage").inner_text()
    page.locator("#sidebar").get_by_role("link", name="Buzones", exact=True).click()
    assert "Buzones" in page.locator("h1").inner_text()
    screenshot(page, "mailboxes-in-spanish.png")
    context.close()
    assert problems == []
