"""Headless Chromium: a customer who forgot their password clicks "Forgot password?", reads the link in the
mail (a real SMTP server on loopback, the mail sent by a real worker), sets a new password and logs in."""

import re

import pytest

from tests.helpers import wait_for

pytestmark = pytest.mark.browser
NEW_PASSWORD = "violet-harbor-quartz-91"


@pytest.fixture
def app_config(redis_server, sshd, smtp):
    return {
        "REDIS_URL": redis_server.url,
        "SSH_KEY_PATH": str(sshd.client_key_path),
        "RQ_QUEUE": "hostdeck-browser",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
    }


def test_forgot_password_end_to_end(served, make_account, smtp, start_worker, browser, screenshot):
    make_account("Acme")
    # The worker makes the link; it points at PUBLIC_URL, here the test's own server.
    start_worker(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), PUBLIC_URL=served)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{served}/login")
    page.click("text=Forgot password?")
    page.wait_for_url(f"{served}/forgot-password")
    page.fill("input[name=email]", "acme@owner.test")
    page.click("input[type=submit]")
    page.wait_for_url(f"{served}/forgot-password/sent")
    assert "a link to set a new password is on its way" in page.locator("#forgot-sent").inner_text()

    wait_for(lambda: smtp.messages, what="the mail with the link")
    [message] = smtp.messages
    assert message["To"] == "acme@owner.test"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    link = re.search(re.escape(served) + r"/reset-password/\S+", text).group(0)

    page.goto(link)
    page.wait_for_url(f"{served}/reset-password?opened=1")  # the token stays out of the address bar
    assert "acme@owner.test" in page.content()
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    screenshot(page, "password-reset.png")
    page.click("input[type=submit]")
    page.wait_for_url(f"{served}/login")

    page.fill("input[name=email]", "acme@owner.test")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{served}/")

    assert problems == [], f"browser console errors (CSP?): {problems}"

    page.goto(link)  # once only
    assert "This link has expired, was used already, or is not complete" in page.content()
    page.close()
