"""What running a script on a server ends in, over the real sshd: a timeout kills it and all it started
(and is retried), ten megabytes of output do not stall, a command killed by a signal has no exit status,
and stderr with exit 0 is a WARNING."""

import time
from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Status
from portal.orchestration.dispatch import sweep
from portal.orchestration.transports import transport_for
from tests.helpers import MAILBOX_PASSWORD, mailbox, new_mailbox, passwd_file_locked
from tests.testbed.proc import descendants


def script_processes(sshd) -> list[str]:
    """Command lines of everything sshd runs for us, but its own processes."""
    found = []
    for pid in descendants(sshd._proc.pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if cmd and not cmd.startswith("sshd"):
            found.append(cmd)
    return found


def test_timeout_kills_the_script_and_leaves_no_session(web, make_account, mail_server, dovecot, sshd, work):
    mail_server.settings = {**mail_server.settings, "exec_timeout": 2}
    db.session.commit()
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice")

    with passwd_file_locked(dovecot):
        started = time.monotonic()
        work()
        took = time.monotonic() - started
        time.sleep(0.3)
        leftovers = script_processes(sshd)

    assert 2 <= took < 15
    assert leftovers == [], f"still running on the server: {leftovers}"
    entry = db.session.scalars(sa.select(BackendLog)).one()
    assert entry.state == LogState.TIMEOUT
    box = mailbox("alice@acme.test")
    assert box.status == Status.PENDING  # TIMEOUT is retried by itself
    assert "did not finish in time" in box.last_error and "tries again" in box.last_error

    # Once the retry is due, the same change goes through.
    op = db.session.scalars(sa.select(Operation)).one()
    assert op.state == OpState.PENDING and op.attempts == 1 and op.retry_at is not None
    op.retry_at = op.retry_at.replace(year=2000)
    db.session.commit()
    assert sweep() == [mail_server.id]
    work()
    db.session.refresh(box)
    assert box.status == Status.APPLIED
    assert dovecot.wait_login("alice@acme.test", MAILBOX_PASSWORD)


def test_ten_megabytes_of_output_do_not_stall(app, mail_server):
    script = (
        "for i in $(seq 40); do head -c 262144 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2;"
        " done; echo done"
    )
    result = transport_for(mail_server, app.config).run(script, 60)
    assert result.exit_code == 0
    assert len(result.stdout) == 40 * 262144 + len("done\n")
    assert len(result.stderr) == 40 * 65536


def test_no_exit_status_is_none(app, mail_server):
    """The command sshd started dies by a signal: sshd reports no exit status (the job calls it FAILURE)."""
    # bash <- timeout <- the login shell, which sshd started: kill that one.
    result = transport_for(mail_server, app.config).run("kill -9 $(ps -o ppid= -p $PPID); sleep 1", 30)
    assert result.exit_code is None


def test_stderr_with_exit_zero_is_a_warning(web, make_account, mail_server, dovecot, work):
    """A delete of a user the server had already lost: done, but worth a look."""
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    new_mailbox(web, "alice")
    work()
    dovecot.passwd_file.write_text("")  # someone edited the server by hand
    box = mailbox("alice@acme.test")
    web.submit(f"/mailboxes/{box.id}/delete", {})
    work()
    entry = db.session.scalars(sa.select(BackendLog).order_by(BackendLog.id.desc())).first()
    assert entry.state == LogState.WARNING
    assert entry.exit_code == 0
    assert "alice@acme.test was already missing from the passwd-file" in entry.stderr
    assert mailbox("alice@acme.test") is None
