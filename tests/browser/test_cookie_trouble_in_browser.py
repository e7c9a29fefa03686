"""Headless Chromium on plain http with SESSION_COOKIE_SECURE on: the browser drops the session cookie,
and the login page says so and why, instead of "Form expired".

Chromium keeps Secure cookies from http://127.0.0.1 and http://localhost (trustworthy origins), so the
portal is opened under another name that resolves to loopback, as a real host over http would be."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.checks import add_axe, axe, overflow
from tests.browser.conftest import ARGS, CHROMIUM
from tests.helpers import PASSWORD
from tests.testbed.plugin import need

pytestmark = pytest.mark.browser
HOST = "portal.test"


@pytest.fixture
def app_config():
    return {"SESSION_COOKIE_SECURE": True}


@pytest.fixture
def plain_http_browser():
    need(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]
        )
        yield browser
        browser.close()


def test_the_login_page_says_the_browser_dropped_the_secure_cookie(
    served, make_account, plain_http_browser, screenshot
):
    make_account("Acme")
    base = f"http://{HOST}:{urlsplit(served).port}"
    context = plain_http_browser.new_context(viewport={"width": 390, "height": 844})
    add_axe(context)
    page = context.new_page()
    page.goto(f"{base}/login")
    assert context.cookies() == [], "the browser kept a Secure cookie over http: the test proves nothing"
    page.fill("input[name=email]", "acme@owner.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    screenshot(page, "cookie-trouble.png")
    said = page.locator("#cookie-trouble").inner_text()
    assert "did not send back the login cookie" in said
    assert f"open https://{HOST}:{urlsplit(served).port}/login instead" in said
    assert "Form expired" not in page.content()
    assert overflow(page) == [] and axe(page) == []
    context.close()
