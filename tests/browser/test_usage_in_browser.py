"""Usage charts in a real browser, in the dark theme too: the bars take the theme's colours (CSS
variables, no inline style), the page keeps to a phone's width, and axe finds nothing serious."""

import pytest

from portal.cli.demo import DEMO_PASSWORD
from portal.extensions import db
from tests.browser.checks import add_axe, axe, overflow
from tests.browser.pages import AXE, ROLES, add_one_of_each, add_usage
from tests.helpers import account_named, mailbox
from tests.testbed.plugin import need

pytestmark = pytest.mark.browser

# --hd-chart-bar in app.css, per theme
BARS = {"light": "rgb(47, 111, 237)", "dark": "rgb(143, 179, 255)"}


@pytest.mark.parametrize("theme", list(BARS))
def test_the_mailbox_chart_reads_in_both_themes(live_server, browser, screenshot, theme):
    need(AXE.exists(), f"axe-core from npm at {AXE} (npm ci)")
    add_one_of_each(account_named("Demo Customer"))
    add_usage()
    db.session.commit()
    box = mailbox("accounts-payable.invoices@example.org")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    add_axe(context)
    context.add_init_script(f"window.localStorage.setItem('hostdeck-theme', '{theme}')")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", ROLES["customer"].email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/mailboxes/{box.id}")
    assert page.locator("html").get_attribute("data-bs-theme") == theme
    bar = page.locator('[data-chart="mail_bytes"] rect.chart-bar').first
    assert bar.evaluate("rect => getComputedStyle(rect).fill") == BARS[theme]
    assert page.locator('[data-chart="mail_bytes"] rect.chart-bar').count() == 30
    # The numbers are there for screen readers, not on screen.
    table = page.locator('[data-chart="mail_bytes"] table')
    assert table.locator("tbody tr").count() == 30 and "UTC" in table.locator("caption").inner_text()
    hidden = page.locator('[data-chart="mail_bytes"] .visually-hidden').bounding_box()
    assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1
    assert overflow(page) == [] and axe(page) == []
    screenshot(page, f"usage-mailbox-{theme}.png")
    page.goto(f"{live_server}/")
    assert overflow(page) == [] and axe(page) == []
    screenshot(page, f"usage-dashboard-{theme}.png")
    context.close()
