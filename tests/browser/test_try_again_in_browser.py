"""Headless Chromium: a customer's mailbox fails for real (the mail server's mail location is broken),
the page says so in plain words, and "Try again" applies it once the cause is repaired."""

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Server
from tests.helpers import browser_new_mailbox

pytestmark = pytest.mark.browser

FOLDER = "The mail server could not create the mailbox folder. Support has been told."
PASSWORD = "lantern orchard pebble mail"


def test_customer_sees_a_failure_in_plain_words_and_tries_again(
    live_server, start_worker, logged_in_page, screenshot, dovecot, tmp_path
):
    mail1 = db.session.scalar(sa.select(Server).where(Server.name == "mail1"))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    mail1.settings = {**mail1.settings, "mail_root": str(blocker / "vmail")}
    db.session.commit()
    worker = start_worker()
    page, problems = logged_in_page(live_server, "customer@example.com")

    page.goto(f"{live_server}/mailboxes/")
    browser_new_mailbox(page, "Retry", "example.org", PASSWORD)
    page.wait_for_url(f"{live_server}/mailboxes/*")
    # No reload: status.js polls until the worker has tried, then shows what failed and the button.
    badge = page.locator("h1 [data-status-id]")
    page.wait_for_selector('h1 [data-status="failed"]', timeout=20000)
    box_id = badge.get_attribute("data-status-id")
    assert page.locator(f'[data-error-for="{box_id}"]').inner_text() == FOLDER
    body = page.locator("body").inner_text()
    assert "cannot create directory" not in body and str(blocker) not in body and "mail1" not in body
    button = page.locator(f'[data-retry-for="{box_id}"] button')
    button.wait_for(state="visible", timeout=5000)
    # The flash said "is being set up" while it was pending; now it says what failed, not green.
    assert page.locator(".alert-success").count() == 0
    assert page.locator(".alert-danger").first.inner_text() == FOLDER
    screenshot(page, "mailbox-failed-plain-words.png")

    # The test repairs the cause; the customer only clicks "Try again".
    mail1.settings = {**mail1.settings, "mail_root": str(dovecot.mail_root)}
    db.session.commit()
    button.click()
    page.wait_for_selector("text=retry@example.org is being applied again.", timeout=10000)
    page.wait_for_selector('h1 [data-status="applied"]', timeout=20000)
    assert page.locator(f'[data-error-for="{box_id}"]').inner_text() == ""
    assert page.locator(f'[data-retry-for="{box_id}"]').is_hidden()
    screenshot(page, "mailbox-applied-after-try-again.png")
    assert problems == [], f"browser console errors (CSP?): {problems}"
    assert dovecot.wait_login("retry@example.org", PASSWORD)
    assert worker.poll() is None, "the worker died"
