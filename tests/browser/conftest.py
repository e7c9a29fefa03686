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
from tests.conftest import postfix_on
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
    mail = Server(
        name="mail1",
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        settings={
            "dovecot_passwd_file": str(dovecot.passwd_file),
            "mail_root": str(dovecot.mail_root),
            "mail_uid": 5000,
            "mail_gid": 5000,
        },
    )
    db.session.execute(sa.delete(Route))
    db.session.add_all([mail, Route(backend="dovecot", server=mail)])
    db.session.commit()
    yield
    dovecot.passwd_file.write_text("")


@pytest.fixture
def with_postfix(demo, postfix):
    """The demo's mail server also runs the test Postfix."""
    with postfix_on(db.session.scalar(sa.select(Server).where(Server.name == "mail1")), postfix):
        yield postfix


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


def logged_in(browser, base: str, email: str, password: str = DEMO_PASSWORD):
    """A new page, logged in, and the list its console errors (CSP violations, say) land in."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")
    return page, problems


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
def web_live_server(app, demo_web):
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
