"""Headless Chromium at phone width: an owner sets the emergency contact in the settings (a hosted
domain refused at the field), and whoever reads that address confirms it from the link's page. No page
overflows sideways at 390 px, and axe finds nothing serious."""

import pytest

from portal.extensions import db
from portal.services.contacts import LINK_PATH, make_token
from tests.browser.checks import add_axe, axe, overflow
from tests.browser.pages import AXE, HEIGHTS
from tests.helpers import PASSWORD, account_named
from tests.testbed.plugin import need

pytestmark = pytest.mark.browser
LONG = "someone-with-a-rather-long-name.and-a-department@mail.elsewhere-provider.example.org"


def phone(browser):
    need(AXE.exists(), f"axe-core from npm at {AXE} (npm ci)")
    context = browser.new_context(viewport={"width": 390, "height": HEIGHTS[390]})
    add_axe(context)
    return context


def test_set_and_confirm_an_emergency_contact_on_a_phone(served, make_account, browser, screenshot):
    make_account("Acme", domains=("acme.example.com",))
    owner = phone(browser)
    page = owner.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{served}/login")
    page.fill("input[name=email]", "acme@owner.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{served}/")

    page.goto(f"{served}/account/")
    page.fill("input[name=emergency_email]", "me@mail.acme.example.com")
    page.click("input[type=submit][value='Save and send a confirmation link']")
    assert "is hosted here" in page.locator("#emergency-contact .invalid-feedback").inner_text()
    assert overflow(page) + axe(page) == []

    page.fill("input[name=emergency_email]", LONG)
    page.click("input[type=submit][value='Save and send a confirmation link']")
    page.wait_for_url(f"{served}/account/")
    card = page.locator("#emergency-contact").inner_text()
    assert LONG in card and "Waiting for confirmation" in card
    screenshot(page, "emergency-contact-settings-390.png")
    assert overflow(page) + axe(page) == []

    db.session.expire_all()
    link = f"{served}{LINK_PATH}{make_token(account_named('Acme'))}"
    reader = phone(browser).new_page()  # whoever reads that mailbox, not logged in
    reader.goto(link)
    assert LONG in reader.content()
    assert overflow(reader) + axe(reader) == []
    reader.click("input[type=submit]")
    reader.wait_for_url(f"{served}/account/emergency-contact/confirmed")
    assert "is confirmed" in reader.content()
    assert overflow(reader) + axe(reader) == []

    page.reload()
    assert "Confirmed" in page.locator("#emergency-contact").inner_text()
    assert problems == [], f"browser console errors (CSP?): {problems}"
