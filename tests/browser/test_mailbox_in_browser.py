"""Headless Chromium: the demo customer sets up mail and watches each change become applied."""

import pytest

from tests.helpers import browser_new_mailbox, nav_to, sftp, wait_http

pytestmark = pytest.mark.browser


def test_demo_customer_creates_a_mailbox_and_sees_it_applied(
    live_server, start_worker, logged_in_page, screenshot, dovecot
):
    page, problems = logged_in_page(live_server, "customer@example.com")

    browser_new_mailbox(page, "Browser", "example.org", "lilac-signal-pass-123")

    page.wait_for_url(f"{live_server}/mailboxes/*")
    assert page.locator("h1").inner_text().startswith("browser@example.org")
    # No worker yet: the change waits, and the page says so.
    assert page.locator(".badge").first.inner_text() == "Pending"
    worker = start_worker()
    # No reload: status.js polls until the worker has applied the change.
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    screenshot(page, "mailbox-applied.png")
    assert page.locator(".badge").first.inner_text() == "Applied"
    assert problems == [], f"browser console errors (CSP?): {problems}"
    assert dovecot.wait_login("browser@example.org", "lilac-signal-pass-123")
    assert worker.poll() is None, "the worker died"


def wait_applied(page, name: str, link: bool = False) -> None:
    """The status badge in the table row of `name` (or of the link named so) turns applied, without a reload."""
    rows = page.locator("tr")
    row = rows.filter(has=page.get_by_role("link", name=name, exact=True)) if link else rows.filter(has_text=name)
    row.locator('[data-status="applied"]').wait_for(timeout=20000)


def test_customer_adds_a_domain_a_mailbox_and_an_address(
    live_server, with_postfix, start_worker, logged_in_page, screenshot, dovecot
):
    start_worker()
    page, problems = logged_in_page(live_server, "customer@example.com")

    nav_to(page, "Domains")
    page.fill("input[name=name]", "Café-Browser.test")
    page.click("input[type=submit][value='Add domain']")
    wait_applied(page, "café-browser.test")

    nav_to(page, "Mailboxes")
    page.get_by_role("link", name="New mailbox").first.click()
    page.fill("input[name=local_part]", "anna")
    page.select_option("select[name=domain_id]", label="café-browser.test")
    page.fill("input[name=password]", "velvet-river-pass-1")
    page.fill("input[name=confirm]", "velvet-river-pass-1")
    assert page.is_checked("input[name=with_address]")
    page.click("input[type=submit][value='Create mailbox']")
    page.wait_for_selector('[data-status="applied"]', timeout=20000)

    nav_to(page, "Addresses")
    page.get_by_role("link", name="New address").first.click()
    page.fill("input[name=local_part]", "hello")
    page.select_option("select[name=domain_id]", label="café-browser.test")
    page.get_by_label("anna@café-browser.test").check()
    page.click("input[type=submit][value='Create address']")
    wait_applied(page, "hello@café-browser.test", link=True)
    wait_applied(page, "anna@café-browser.test", link=True)
    screenshot(page, "addresses-applied.png")
    assert problems == [], f"browser console errors (CSP?): {problems}"

    # And it is real: mail to the new address lands in the new mailbox.
    domain = "café-browser.test".encode("idna").decode()
    with_postfix.settle()
    assert dovecot.wait_login(f"anna@{domain}", "velvet-river-pass-1")
    with_postfix.send("someone@example.org", [f"hello@{domain}"], "Bonjour", "Hello Anna")
    messages = dovecot.wait_for_messages(f"anna@{domain}", "velvet-river-pass-1", 1, timeout=15)
    assert messages[0]["Subject"] == "Bonjour"


def test_customer_creates_a_php_app_and_a_website(
    web_live_server, start_worker, logged_in_page, screenshot, sftpd, nginx
):
    start_worker()
    base = web_live_server
    page, problems = logged_in_page(base, "customer@example.com")

    nav_to(page, "System users")
    page.get_by_role("link", name="New system user").first.click()
    page.fill("input[name=name]", "site")
    page.fill("input[name=password]", "copper-lantern-pass-1")
    page.fill("input[name=confirm]", "copper-lantern-pass-1")
    page.click("input[type=submit][value='Create user']")
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    user_name = page.locator("h1").inner_text().split()[0]

    nav_to(page, "Web apps")
    page.get_by_role("link", name="New web app").first.click()
    page.fill("input[name=name]", "shop")
    page.check("input[name=kind][value=php]")
    page.click("summary:has-text('Advanced')")  # PHP settings wait under "Advanced", closed
    page.fill("input[name=memory_limit]", "96M")
    page.click("input[type=submit][value='Create web app']")
    wait_applied(page, "shop", link=True)

    nav_to(page, "Websites")
    page.get_by_role("link", name="New website").first.click()
    page.fill("input[name=name]", "Shop site")
    page.get_by_label("example.org", exact=True).check()
    page.select_option("select[name=root_app]", label="shop (php)")
    page.click("input[type=submit][value='Create website']")
    wait_applied(page, "Shop site")
    screenshot(page, "website-applied.png")
    assert problems == [], f"browser console errors (CSP?): {problems}"

    session = sftp(sftpd, user_name, "copper-lantern-pass-1")
    with session.open("/webapps/shop/index.php", "w") as handle:
        handle.write("<?php echo ini_get('memory_limit');")
    session.close()
    wait_http(nginx, "www.example.org", "/index.php", 200, "96M")


def test_reseller_sets_up_a_customer_who_then_logs_in(
    live_server, with_postfix, start_worker, logged_in_page, screenshot, dovecot
):
    """The demo reseller creates a sub-account, limits it, acts inside it to create a mailbox; the new
    customer sets a password through the one-time link and logs in."""
    start_worker()
    page, problems = logged_in_page(live_server, "reseller@example.com")

    nav_to(page, "Sub-accounts")
    page.fill("input[name=name]", "Flower Shop")
    page.fill("input[name=owner_email]", "flora@flowers.example.net")
    page.fill("input[name=emergency_email]", "help@contact.example.net")  # example.org is the demo customer's
    page.click("input[type=submit][value='Create account']")
    link = page.locator("#set-password-link").inner_text()

    page.locator("tr", has_text="Flower Shop").get_by_role("link", name="Limits").click()
    page.fill("input[name=mailboxes]", "5")
    page.click("input[type=submit][value='Save limits']")
    assert "mailboxes: 0 / 5" in page.locator("tr", has_text="Flower Shop").inner_text()

    page.locator("tr", has_text="Flower Shop").get_by_role("button", name="Act inside").click()
    assert "acting inside" in page.locator("#acting-banner").inner_text()
    nav_to(page, "Domains")
    # A reserved name counts as proven here (RESERVED_TLDS_VERIFIED), as in the demo.
    page.fill("input[name=name]", "flowers.example")
    page.click("input[type=submit][value='Add domain']")
    nav_to(page, "Mailboxes")
    browser_new_mailbox(page, "flora", "flowers.example", "tulip-harbor-mail-1")
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    assert dovecot.wait_login("flora@flowers.example", "tulip-harbor-mail-1")
    page.locator("#user-menu").click()
    page.get_by_role("button", name="Log out").click()

    page.goto(link)
    page.fill("input[name=password]", "petal-orbit-portal-1")
    page.fill("input[name=confirm]", "petal-orbit-portal-1")
    page.click("input[type=submit][value='Set my password']")
    page.fill("input[name=email]", "flora@flowers.example.net")
    page.fill("input[name=password]", "petal-orbit-portal-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")
    nav_to(page, "Mailboxes")
    assert "flora@flowers.example" in page.locator("table").inner_text()
    screenshot(page, "reseller-customer.png")
    assert problems == [], f"browser console errors (CSP?): {problems}"
