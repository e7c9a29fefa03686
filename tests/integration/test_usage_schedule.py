"""When rounds run: the sweeper's enqueue (a round per server due, once, on the usage queue), a real
worker taking it after the applies, the keeping times, and the demo's round after an in-process apply."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from portal.extensions import db
from portal.models import BackendLog, Domain, Mailbox, Reading, Rollup, Sample, Server, Status, utcnow
from portal.models.metering import Measured, Metric
from portal.orchestration.metering.rounds import due_servers
from portal.orchestration.metering.schedule import PRUNED, enqueue_due, queued_key, usage_queue
from portal.orchestration.metering.store import prune, store
from portal.orchestration.queue import queue
from tests.helpers import add_server, local_mail_server, new_mailbox


@pytest.fixture
def carol(app, make_account, tmp_path: Path) -> tuple[Server, Mailbox]:
    """mx9 on the local transport, one mailbox with one message in its Maildir."""
    server = add_server(local_mail_server("mx9", tmp_path, usage_state_dir=str(tmp_path / "usage-state")), "dovecot")
    cur = tmp_path / "vmail" / "acme.test" / "carol" / "Maildir" / "cur"
    cur.mkdir(parents=True)
    (cur / "1.M1.host:2,S").write_bytes(b"c" * 321)
    account = make_account("Acme", domains=("acme.test",))
    domain = db.session.scalar(sa.select(Domain))
    box = Mailbox(account=account, domain=domain, local_part="carol", status=Status.APPLIED)
    db.session.add(box)
    db.session.commit()
    return server, box


def added_ago(server: Server, seconds: int) -> None:
    server.created_at = utcnow() - timedelta(seconds=seconds)
    db.session.commit()


def test_a_new_server_is_due_an_interval_after_it_was_added_then_after_each_round(app, carol):
    server, _ = carol
    interval = app.config["USAGE_INTERVAL"]
    assert server.id not in due_servers(interval)
    added_ago(server, interval + 5)
    assert server.id in due_servers(interval)
    server.measured_at = utcnow() - timedelta(seconds=10)
    db.session.commit()
    assert server.id not in due_servers(interval)
    server.measured_at = utcnow() - timedelta(seconds=interval + 1)
    db.session.commit()
    assert server.id in due_servers(interval)


def test_the_sweep_enqueues_one_round_per_due_server_and_a_worker_runs_it_after_the_applies(app, carol):
    server, box = carol
    added_ago(server, app.config["USAGE_INTERVAL"] + 5)
    rounds = usage_queue()
    assert rounds is not None and rounds.name == f"{queue().name}-usage"

    assert enqueue_due() == [server.id]
    assert enqueue_due() == []  # one waits already: no second
    assert rounds.count == 1 and queue().count == 0
    assert rounds.connection.exists(queued_key(server.id))

    applies = queue()
    with app.app_context():  # its own session, as a worker's
        SimpleWorker([applies, rounds], connection=applies.connection, serializer=applies.serializer).work(burst=True)
    db.session.expire_all()
    assert not rounds.connection.exists(queued_key(server.id))
    reading = db.session.scalar(
        sa.select(Reading.value).where(Reading.object_id == box.id, Reading.metric == str(Metric.MAIL_BYTES))
    )
    assert reading == 321
    entry = db.session.scalars(sa.select(BackendLog).where(BackendLog.server_id == server.id)).one()
    assert entry.backends == "usage:mail"
    assert db.session.get(Server, server.id).measured_at is not None
    assert enqueue_due() == []  # measured just now


def test_old_samples_and_rollups_go_after_their_keeping_time(app, carol):
    server, box = carol
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    for at in (old, recent):
        store(server.id, [Measured("Mailbox", box.id, box.account_id, Metric.MAIL_BYTES, 100, at)])
    db.session.commit()
    assert prune(now, raw_days=7, hourly_days=30, daily_days=60) == 2  # the old sample, the old hour
    db.session.commit()
    assert [s.at for s in db.session.scalars(sa.select(Sample))] == [recent]
    periods = sorted((r.period, r.start <= old) for r in db.session.scalars(sa.select(Rollup)))
    assert periods == [("day", False), ("day", True), ("hour", False)]


@pytest.fixture
def demo_like(app, app_config):
    """No Redis, as the demo: applies and rounds run in the web process."""
    app.config.update(REDIS_URL="", USAGE_IN_PROCESS=True)
    app.extensions.pop("hostdeck.queue", None)
    yield
    app.extensions.pop("hostdeck.queue", None)


def test_without_redis_a_round_follows_an_in_process_apply_when_the_server_is_due(
    app, web, make_account, tmp_path, demo_like
):
    server = add_server(local_mail_server("mx8", tmp_path, usage_state_dir=str(tmp_path / "state")), "dovecot")
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    added_ago(server, app.config["USAGE_INTERVAL"] + 5)
    assert new_mailbox(web, "dave").status_code == 302
    db.session.expire_all()
    logs = db.session.scalars(sa.select(BackendLog.backends).where(BackendLog.server_id == server.id)).all()
    assert logs == ["dovecot", "usage:mail"]
    box = db.session.scalar(sa.select(Mailbox))
    assert db.session.scalar(sa.select(Reading.value).where(Reading.object_id == box.id)) == 0

    assert new_mailbox(web, "erin").status_code == 302  # measured a moment ago: not due
    db.session.expire_all()
    logs = db.session.scalars(sa.select(BackendLog.backends).where(BackendLog.server_id == server.id)).all()
    assert logs == ["dovecot", "usage:mail", "dovecot"]


def test_the_sweep_prunes_once_per_interval_not_at_every_sweep(app, carol):
    server, box = carol
    old = utcnow() - timedelta(days=app.config["USAGE_RAW_DAYS"] + 1)

    def old_sample() -> None:
        store(server.id, [Measured("Mailbox", box.id, box.account_id, Metric.MAIL_BYTES, 100, old)])
        db.session.commit()

    def samples() -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Sample))

    old_sample()
    enqueue_due()
    assert samples() == 0
    old_sample()
    enqueue_due()  # a sweep seconds later
    assert samples() == 1
    queue().connection.delete(PRUNED)  # as when USAGE_INTERVAL has passed
    enqueue_due()
    assert samples() == 0
