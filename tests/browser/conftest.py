"""Browser tests: headless Debian Chromium against a live portal with the demo data, a real worker,
Dovecot behind the test sshd."""

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.cli.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.models import Route, Server
from tests.helpers import add_server, dovecot_settings, postfix_on, ssh_server, totp_now
from tests.testbed.plugin import need
from tests.testbed.ports import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def app_config(redis_server, sshd):
    return {"REDIS_URL": redis_server.url, "SSH_KEY_PATH": str(sshd.client_key_path), "RQ_QUEUE": "hostdeck-browser"}


@pytest.fixture
def demo(app, tmp_path, sshd, dovecot):
    """Demo data, with the demo's mail routed to the real Dovecot behind the test sshd."""
    seed_demo(str(tmp_path / "demo-server"))
    db.session.execute(sa.delete(Route))
    add_server(ssh_server("mail1", sshd, **dovecot_settings(dovecot)), "dovecot")
    yield
    dovecot.passwd_file.write_text("")


@pytest.fixture
def with_postfix(demo, postfix):
    """The demo's mail server also runs the test Postfix."""
    with postfix_on(db.session.scalar(sa.select(Server).where(Server.name == "mail1")), postfix):
        yield postfix


@pytest.fixture
def served(app):
    """The app on a free port, in a thread; its base URL."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def live_server(demo, served):
    return served


@pytest.fixture
def start_worker(workers):
    return workers.start


@pytest.fixture
def browser():
    need(Path(CHROMIUM).exists(), "Debian's chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_web(app, tmp_path, webstack):
    """Demo data; web apps and sites go to the test machine's nginx and PHP-FPM (web1)."""
    seed_demo(str(tmp_path / "demo-server"))
    db.session.execute(
        sa.delete(Route).where(Route.backend.in_(("unix", "phpfpm", "nginx")), Route.server_id != webstack.id)
    )
    db.session.commit()
    return webstack


@pytest.fixture
def web_live_server(demo_web, served):
    return served


@pytest.fixture
def logged_in_page(browser):
    """Log in on a new page (typing totp_user's current code when asked): the page, and the list its
    console errors (CSP violations, say) land in."""

    def log_in(base: str, email: str, password: str = DEMO_PASSWORD, totp_user=None):
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{base}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("input[type=submit]")
        if totp_user is not None:
            page.wait_for_url(f"{base}/login/two-factor")
            page.fill("input[name=code]", totp_now(totp_user))
            page.click("input[type=submit]")
        page.wait_for_url(f"{base}/")
        return page, problems

    return log_in


@pytest.fixture
def screenshot():
    """Keep a picture of the whole page in test-artifacts/."""

    def take(page, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    return take
