"""Headless Chromium: the demo customer creates a mailbox and watches it become applied."""
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.cli.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.models import Route, Server
from tests.testbed.plugin import need
from tests.testbed.ports import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(redis_server, sshd):
    return {"REDIS_URL": redis_server.url, "SSH_KEY_PATH": str(sshd.client_key_path), "RQ_QUEUE": "hostdeck-browser"}


@pytest.fixture
def demo(app, tmp_path, sshd, dovecot):
    """Demo data, with the demo's mail routed to the real Dovecot behind the test sshd."""
    seed_demo(str(tmp_path / "demo-server"))
    mail = Server(name="mail1", host=sshd.host, port=sshd.port, ssh_user=sshd.user, host_key=sshd.host_key_line,
                  settings={"dovecot_passwd_file": str(dovecot.passwd_file), "mail_root": str(dovecot.mail_root),
                            "mail_uid": 5000, "mail_gid": 5000})
    db.session.execute(sa.delete(Route))
    db.session.add_all([mail, Route(backend="dovecot", server=mail)])
    db.session.commit()
    yield
    dovecot.passwd_file.write_text("")


@pytest.fixture
def live_server(app, demo):
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def start_worker(app, redis_server, tmp_path):
    from tests.workers import Workers, worker_env

    pool = Workers(worker_env(app, redis_server.url), tmp_path)
    yield pool.start
    pool.stop_all()


@pytest.fixture
def browser():
    need(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_demo_customer_creates_a_mailbox_and_sees_it_applied(live_server, start_worker, browser, dovecot):
    page = browser.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "customer@example.com")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.click("text=New mailbox")
    page.fill("input[name=local_part]", "Browser")
    page.select_option("select[name=domain_id]", label="example.org")
    page.fill("input[name=password]", "browser-pass-123")
    page.fill("input[name=confirm]", "browser-pass-123")
    page.click("input[type=submit][value='Create mailbox']")

    page.wait_for_url(f"{live_server}/mailboxes/*")
    assert page.locator("h1").inner_text().startswith("browser@example.org")
    # No worker yet: the change waits, and the page says so.
    assert page.locator(".badge").first.inner_text() == "Pending"
    worker = start_worker()
    # No reload: status.js polls until the worker has applied the change.
    page.wait_for_selector('[data-status="applied"]', timeout=20000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mailbox-applied.png"), full_page=True)
    assert page.locator(".badge").first.inner_text() == "Applied"
    assert problems == [], f"browser console errors (CSP?): {problems}"
    assert dovecot.wait_login("browser@example.org", "browser-pass-123")
    assert worker.poll() is None, "the worker died"
