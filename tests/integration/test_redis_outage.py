"""Redis down is not an outage: logins, two-factor codes, password links and ordinary pages keep
working. The throttle counts in this process's memory meanwhile (one warning in the log, and
`fallback_warning()` for /readyz), and in Redis again once it answers.

The Redis here is the test's own, stopped and started again on the same port."""

from __future__ import annotations

import logging
import re
import time

import pytest
import sqlalchemy as sa
from redis import Redis

from portal.extensions import db
from portal.models import Mailbox, Operation, OpState, Status, outages, revisions
from portal.orchestration.dispatch import sweep
from portal.orchestration.queue import queue
from portal.security import throttle
from tests.helpers import PASSWORD, logged_in, mailbox, new_mailbox, totp_now, user_named
from tests.testbed.plugin import need, running
from tests.testbed.redis_server import RedisServer


@pytest.fixture
def own_redis(tmp_path):
    need("redis-server", "redis-server")
    with running(RedisServer(tmp_path / "redis")) as server:
        yield server


@pytest.fixture
def app_config(own_redis):
    # No RATELIMIT_STORAGE_URI: the throttle counts where REDIS_URL says, as in production.
    # Errors answer 500 as in production, rather than reaching the test.
    return {
        "REDIS_URL": own_redis.url,
        "RATELIMIT_STORAGE_URI": "",
        "RQ_QUEUE": "hostdeck-outage",
        "PROPAGATE_EXCEPTIONS": False,
    }


@pytest.fixture
def customer(make_account):
    return make_account("Acme", domains=("acme.test",))


def attempt(web, email, password, ip="10.0.0.1"):
    return web.submit("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == throttle.__name__ and r.levelno == logging.WARNING]


def counted_in(server: RedisServer, what: str) -> list[bytes]:
    return Redis.from_url(server.url).keys(f"*{what}*")


def test_login_while_redis_is_down_counts_in_memory_then_in_redis_again(app, web, customer, own_redis, caplog):
    caplog.set_level(logging.INFO, logger=throttle.__name__)
    own_redis.stop()

    assert attempt(web, "acme@owner.test", PASSWORD).status_code == 302
    assert logged_in(web.client)
    web.logout()
    # Wrong passwords are still counted and limited.
    for i in range(10):
        assert attempt(web, "acme@owner.test", "wrong", ip=f"10.0.1.{i}").status_code == 200
    assert attempt(web, "acme@owner.test", "wrong", ip="10.0.2.1").status_code == 429
    assert attempt(web, "acme@owner.test", PASSWORD, ip="10.0.2.2").status_code == 429

    assert len(fallback_warnings(caplog)) == 1, "one warning for the outage, not one per request"
    warning = throttle.fallback_warning()
    assert warning and "memory" in warning

    own_redis.start()
    deadline = time.monotonic() + outages.RETRY_SECONDS + 5
    while not counted_in(own_redis, "bob@owner.test"):
        assert time.monotonic() < deadline, "counting did not go back to Redis"
        attempt(web, "bob@owner.test", "wrong", ip="10.0.3.1")
        time.sleep(0.5)
    assert throttle.fallback_warning() is None
    assert len(fallback_warnings(caplog)) == 1
    assert any("again" in r.getMessage() for r in caplog.records if r.name == throttle.__name__)


def test_readiness_warning_comes_and_goes_with_redis(app, own_redis):
    client = app.test_client()
    assert throttle.fallback_warning() is None
    assert "login_throttle" not in client.get("/readyz").get_json()["warnings"]
    own_redis.stop()
    assert not throttle.login_blocked("acme@owner.test", "10.0.0.1")  # notices the outage
    assert throttle.fallback_warning() is not None
    assert "memory" in client.get("/readyz").get_json()["warnings"]["login_throttle"]
    own_redis.start()
    deadline = time.monotonic() + outages.RETRY_SECONDS + 5
    while throttle.fallback_warning() is not None:  # /readyz, polled, finds Redis back by itself
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_two_factor_codes_are_counted_while_redis_is_down(app, web, make_staff, own_redis):
    staff = make_staff()
    own_redis.stop()
    assert attempt(web, staff.email, PASSWORD).location.endswith("/login/two-factor")
    for _ in range(10):
        assert web.submit("/login/two-factor", {"code": "000000"}).status_code == 200
    assert web.submit("/login/two-factor", {"code": totp_now(user_named(staff.email))}).status_code == 429


def test_a_right_code_logs_in_while_redis_is_down(app, web, make_staff, own_redis):
    staff = make_staff()
    own_redis.stop()
    web.login(staff.email)
    assert logged_in(web.client)


def test_password_links_are_counted_while_redis_is_down(app, web, own_redis):
    own_redis.stop()
    for _ in range(3):  # PASSWORD_LINKS_PER_EMAIL_HOUR
        assert web.submit("/forgot-password", {"email": "nobody@owner.test"}).status_code == 302
    assert web.submit("/forgot-password", {"email": "nobody@owner.test"}).status_code == 429


def test_pages_and_changes_while_redis_is_down(app, web, customer, local_server, own_redis):
    web.login("acme@owner.test")
    own_redis.stop()
    for page in ("/", "/mailboxes/", "/account/"):
        assert web.get(page).status_code == 200, page
    # The change is kept in the outbox: the enqueue after the commit failed, and the sweeper hands it over.
    assert new_mailbox(web, "alice", quota=50).status_code == 302
    assert web.get("/mailboxes/").status_code == 200
    assert set(db.session.scalars(sa.select(Operation.state))) == {OpState.PENDING}
    own_redis.start()
    sweep()
    assert queue(app).count == 1


def _badge(html: str, obj_id: int) -> str:
    found = re.search(rf'data-status-id="{obj_id}"[^>]*data-status="(\w+)"', html)
    assert found, f"no status badge for {obj_id}"
    return found.group(1)


def test_a_change_made_while_redis_was_down_shows_once_it_answers(app, web, customer, local_server, own_redis):
    """Its revision could not move; the kept pages from before the outage are not shown after it."""
    web.login("acme@owner.test")
    new_mailbox(web, "alice", quota=50)
    box = mailbox("alice@acme.test")
    shown = _badge(web.get("/mailboxes/").get_data(as_text=True), box.id)  # kept
    Redis.from_url(own_redis.url).save()  # so that it comes back with the numbers of before
    own_redis.stop()
    db.session.execute(revisions.named(sa.update(Mailbox).where(Mailbox.id == box.id).values(status=Status.FAILED)))
    db.session.commit()  # its numbers cannot move
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "failed"  # rendered afresh
    own_redis.start()
    time.sleep(outages.RETRY_SECONDS)
    assert shown != "failed"
    assert _badge(web.get("/mailboxes/").get_data(as_text=True), box.id) == "failed"
    assert revisions.read([revisions.SHARED]) is not None  # kept again
