"""Headless Chromium: the new-mailbox form's password field has a strength meter, Show/Hide and
Generate (static/js/password.js, under the page's CSP); the server refuses a weak password in words."""

import re

import pytest

pytestmark = pytest.mark.browser


def test_the_meter_the_refusal_show_and_generate_in_the_mailbox_form(live_server, logged_in_page, screenshot):
    page, problems = logged_in_page(live_server, "customer@example.com")
    page.goto(f"{live_server}/mailboxes/new")
    password, confirm = page.locator("input[name=password]"), page.locator("input[name=confirm]")
    tools = page.locator("[data-password-tools]")
    words = tools.locator("[data-password-level]")
    assert tools.locator("[aria-live=polite]").count() == 1
    assert tools.get_attribute("data-level") == "-1"  # nothing typed: an empty meter

    # The meter follows the typing.
    password.press_sequentially("aaaa")
    assert words.inner_text() == "Too short"
    password.press_sequentially("aaaaaa")
    assert words.inner_text() == "Weak"
    assert "bg-danger" in tools.locator(".progress-bar").get_attribute("class")
    assert tools.locator("[role=progressbar]").get_attribute("aria-valuenow") == "1"

    # The meter is only a hint: the server says why password123 will not do, and makes nothing.
    page.fill("input[name=local_part]", "carol")
    page.select_option("select[name=domain_id]", label="example.org")
    password.fill("")
    password.press_sequentially("password123")
    confirm.fill("password123")
    page.click("input[type=submit][value='Create mailbox']")
    assert "This password is one of the most common ones." in page.locator(".invalid-feedback").inner_text()
    assert page.url.endswith("/mailboxes/new")

    # Show and Hide: real buttons with words, for both fields.
    show = page.get_by_role("button", name="Show")
    assert show.get_attribute("type") == "button"
    password.fill("lantern-quartz-harbor-19")
    show.click()
    assert password.get_attribute("type") == "text" and confirm.get_attribute("type") == "text"
    page.get_by_role("button", name="Hide").click()
    assert password.get_attribute("type") == "password" and confirm.get_attribute("type") == "password"

    # Generate: 20 characters, in both fields, shown, and strong.
    page.get_by_role("button", name="Generate").click()
    generated = password.input_value()
    assert len(generated) == 20 and confirm.input_value() == generated
    assert password.get_attribute("type") == "text"
    assert words.inner_text() == "Strong"
    assert "Keep it somewhere safe" in tools.locator("[data-password-note]").inner_text()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing sticks out sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "password-generated.png")

    page.click("input[type=submit][value='Create mailbox']")
    page.wait_for_url(re.compile(r"/mailboxes/[0-9]+$"))
    assert page.locator("h1").inner_text().startswith("carol@example.org")
    assert problems == [], f"browser console errors (CSP?): {problems}"
