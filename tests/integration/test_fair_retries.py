"""Retries are fair: each operation has its own attempts and its own next try, and they move only when
that operation was in the script that failed. One account's failures on an unreachable server never
spend another account's retries; an account's newer changes wait behind its own retry, in order."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Mailbox, Operation, OpState, Status, utcnow
from portal.orchestration.dispatch import sweep
from portal.orchestration.operations import record
from portal.orchestration.outcome import unstick
from tests.helpers import MAILBOX_PASSWORD, account_named, backend_logs, count, mailbox, new_mailbox
from tests.testbed.ports import free_port

DELAYS = (600, 1800, 3600)  # long enough that nothing comes due by itself during a test


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RETRY_DELAYS": ",".join(map(str, DELAYS))}


@pytest.fixture
def two_tenants(web, make_account, mail_server):
    """Acme and Beta share mail1, which nobody can reach (connection refused: an ERROR, retried)."""
    make_account("Acme", domains=("acme.test",))
    make_account("Beta", domains=("beta.test",))
    good_port = mail_server.port
    mail_server.port = free_port()
    db.session.commit()
    yield mail_server
    mail_server.port = good_port
    db.session.commit()


def reachable(server, port: int) -> None:
    server.port = port
    db.session.commit()


def ops_of(account: str) -> list[Operation]:
    query = sa.select(Operation).where(Operation.account_id == account_named(account).id).order_by(Operation.id)
    return list(db.session.scalars(query))


def live_ops_of(account: str) -> list[Operation]:
    return [op for op in ops_of(account) if op.state != OpState.SUPERSEDED]


def let_time_pass(ops: list[Operation]) -> None:
    """Their retries are due now (as if the delay had passed), and only theirs."""
    for op in ops:
        if op.state == OpState.PENDING and op.retry_at is not None:
            op.retry_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def seconds_until(moment) -> float:
    return (moment - utcnow()).total_seconds()


def test_one_accounts_failures_never_spend_anothers_retries(web, two_tenants, work):
    web.login("beta@owner.test")
    new_mailbox(web, "bea", domain="beta.test")
    work()
    (beta,) = ops_of("Beta")
    assert (beta.state, beta.attempts) == (OpState.PENDING, 1)
    beta_next_try = beta.retry_at
    assert DELAYS[0] - 3 < seconds_until(beta_next_try) <= DELAYS[0]

    # Acme makes several changes, and they fail again and again until they have used every attempt.
    web.logout()
    web.login("acme@owner.test")
    for name in ("ann", "amy", "abe"):
        new_mailbox(web, name)
        work()
    for _ in range(2 * len(DELAYS) + 2):
        if not any(op.state == OpState.PENDING for op in ops_of("Acme")):
            break
        let_time_pass(ops_of("Acme"))
        assert sweep() == [two_tenants.id]
        work()
    acme = ops_of("Acme")
    assert [(op.state, op.attempts) for op in acme] == [(OpState.FAILED, len(DELAYS) + 1)] * 3
    assert all(
        m.status == Status.FAILED
        for m in db.session.scalars(sa.select(Mailbox).where(Mailbox.account_id == acme[0].account_id))
    )
    assert len(backend_logs()) > len(DELAYS) + 1
    assert {e.state for e in backend_logs()} == {LogState.ERROR}

    # Beta's change was in none of those scripts: its attempts and its next try are as they were.
    db.session.refresh(beta)
    assert (beta.state, beta.attempts, beta.retry_at) == (OpState.PENDING, 1, beta_next_try)
    assert beta.backend_log_id == backend_logs()[0].id
    bea = mailbox("bea@beta.test")
    assert bea.status == Status.PENDING and f"tries again in {DELAYS[0]} s" in bea.last_error
    assert sweep() == []  # nothing of Beta's is due yet

    # Its own schedule: its second try fails too, and the third waits the second delay.
    let_time_pass([beta])
    assert sweep() == [two_tenants.id]
    work()
    db.session.refresh(beta)
    assert (beta.state, beta.attempts) == (OpState.PENDING, 2)
    assert DELAYS[1] - 3 < seconds_until(beta.retry_at) <= DELAYS[1]
    assert backend_logs()[-1].operations == [beta]


def test_a_newer_change_waits_behind_its_accounts_retry(web, two_tenants, work, sshd, dovecot):
    good_port = sshd.port
    web.login("acme@owner.test")
    new_mailbox(web, "ann")
    work()
    (first,) = ops_of("Acme")
    first_try = first.retry_at
    assert (first.state, first.attempts) == (OpState.PENDING, 1)

    # A change to the same mailbox while its retry is pending: nothing runs, no clock moves.
    ann = mailbox("ann@acme.test")
    ann.quota_mb = 42
    record(ann, "save")
    db.session.commit()
    work()
    assert count(BackendLog) == 1
    first, newer = ops_of("Acme")
    assert (first.state, first.attempts, first.retry_at) == (OpState.PENDING, 1, first_try)
    assert (newer.state, newer.attempts, newer.retry_at) == (OpState.PENDING, 0, None)
    assert sweep() == []  # the sweeper agrees: nothing is due

    # Another account is not held up by it: Beta's change runs at once, alone.
    web.logout()
    web.login("beta@owner.test")
    new_mailbox(web, "bea", domain="beta.test")
    work()
    assert count(BackendLog) == 2
    assert [op.account_id for op in backend_logs()[-1].operations] == [account_named("Beta").id]
    db.session.refresh(first)
    assert (first.attempts, first.retry_at) == (1, first_try)

    # Once Acme's retry is due, both of its changes go in one script, folded into the newest.
    reachable(two_tenants, good_port)
    let_time_pass(ops_of("Acme"))
    assert sweep() == [two_tenants.id]
    work()
    first, newer = ops_of("Acme")
    assert (first.state, newer.state) == (OpState.SUPERSEDED, OpState.APPLIED)
    assert mailbox("ann@acme.test").status == Status.APPLIED
    assert dovecot.wait_login("ann@acme.test", MAILBOX_PASSWORD)
    assert "storage=42M" in dovecot.passwd_file.read_text()
    # Beta's retry is still its own: not due, so not run.
    (beta,) = live_ops_of("Beta")
    assert (beta.state, beta.attempts) == (OpState.PENDING, 1)


def test_an_outcome_that_could_not_be_recorded_follows_the_delays(web, two_tenants, work):
    """unstick(): the script's operations come back pending after the next delay, or fail once used up."""
    web.login("acme@owner.test")
    for name in ("ann", "amy"):
        new_mailbox(web, name)
    work()
    fresh, used_up = ops_of("Acme")
    entry = backend_logs()[-1]
    fresh.state, fresh.attempts = OpState.RUNNING, 1
    used_up.state, used_up.attempts = OpState.RUNNING, len(DELAYS)
    db.session.commit()

    unstick(entry.id)
    fresh, used_up = ops_of("Acme")
    assert (fresh.state, fresh.attempts) == (OpState.PENDING, 2)
    assert DELAYS[1] - 3 < seconds_until(fresh.retry_at) <= DELAYS[1]
    assert (used_up.state, used_up.attempts) == (OpState.FAILED, len(DELAYS) + 1)
    assert mailbox("amy@acme.test").status == Status.FAILED
