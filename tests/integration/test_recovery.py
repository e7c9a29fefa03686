"""Nothing is lost: not when Redis is down, not when a worker is killed mid-script."""

import os
import signal

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Status
from tests.integration.conftest import domain_id, mailbox, wait_for
from tests.integration.test_limits_and_states import PW, passwd_file_locked


def test_redis_down_then_up(web, make_account, mail_server, dovecot, redis_server, work, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    redis_server.stop()

    response = web.submit("/mailboxes/new", {"local_part": "alice", "domain_id": domain_id("acme.test"), **PW})
    assert response.status_code == 302
    box = mailbox("alice@acme.test")
    assert box.status == Status.PENDING
    assert "Pending" in web.get(f"/mailboxes/{box.id}").get_data(as_text=True)

    redis_server.start()
    result = app.test_cli_runner().invoke(args=["orchestration", "sweep"])
    assert "enqueued 1 server(s)" in result.output
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", PW["password"])


def test_worker_killed_mid_script(web, make_account, mail_server, dovecot, workers, app):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    with passwd_file_locked(dovecot):  # the script blocks on the server
        web.submit("/mailboxes/new", {"local_part": "alice", "domain_id": domain_id("acme.test"), **PW})
        doomed = workers.start()
        wait_for(lambda: db.session.scalar(sa.select(Operation.state)) == OpState.RUNNING)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    # A new worker sweeps: once the dead worker's lock lapses, its work is redone.
    workers.start()
    wait_for(lambda: (m := mailbox("alice@acme.test")) is not None and m.status == Status.APPLIED, timeout=30)

    assert dovecot.wait_login("alice@acme.test", PW["password"])
    assert dovecot.passwd_file.read_text().count("alice@acme.test:") == 1
    states = db.session.scalars(sa.select(BackendLog.state).order_by(BackendLog.id)).all()
    assert states == [LogState.ERROR, LogState.SUCCESS]
    first = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id)).first()
    assert "worker stopped" in first.error
    assert db.session.scalar(sa.select(Operation.secret)) is None
