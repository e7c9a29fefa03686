"""A canary password never shows up anywhere but on the mail server, as a hash; database errors show
no bound values."""

import logging
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import BackendLog, Domain
from tests.helpers import account_named, change_password, dump_database, mailbox, new_mailbox

CANARY = "Canary-7f3a-pässwörd-0042"
CANARY2 = "Canary-second-9c1e-0043"
HASH_MARKERS = ("{SHA512-CRYPT}", "$6$")
PROBE = "argv-probe-5b1d"


class ArgvWatcher(threading.Thread):
    """Samples every process's argv while the test runs, looking for secrets. No needles: keeps every argv
    it saw (a secret made during the test, such as a key made on a server, is looked for afterwards)."""

    def __init__(self, needles=()):
        super().__init__(daemon=True)
        self.needles = [n.encode() for n in needles]
        self.seen: list[bytes] = []
        self.every: set[bytes] = set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            # Not Path.glob: a process that ends while /proc is listed makes the listing itself raise.
            for pid in (name for name in os.listdir("/proc") if name.isdigit()):
                try:
                    argv = Path("/proc", pid, "cmdline").read_bytes()
                except OSError:
                    continue
                if not self.needles:
                    self.every.add(argv)
                elif any(n in argv for n in self.needles):
                    self.seen.append(argv)


def test_canary_password_is_never_stored_or_logged(
    web, make_account, mail_server, dovecot, sshd, redis_server, work, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    make_account("Acme", domains=("acme.test",))
    watcher = ArgvWatcher([CANARY, CANARY2, *HASH_MARKERS, PROBE])
    watcher.start()
    # Prove the watcher sees a short-lived process's argv before trusting its silence.
    subprocess.run(["sh", "-c", "sleep 0.3", PROBE], check=True)
    time.sleep(0.05)
    assert any(PROBE.encode() in argv for argv in watcher.seen)
    watcher.seen.clear()
    try:
        web.login("acme@owner.test")
        new_mailbox(web, "alice", CANARY, quota=100)
        pending = dump_database()
        queued = redis_server.all_values()
        work()
        change_password(web, f"/mailboxes/{mailbox('alice@acme.test').id}", CANARY2)
        work()
    finally:
        watcher.stop.set()
        watcher.join()

    assert dovecot.wait_login("alice@acme.test", CANARY2)
    verifier = dovecot.passwd_file.read_text().split(":")[1]
    assert verifier.startswith("{SHA512-CRYPT}$6$")

    # Before the apply the DB holds only a verifier, and Redis only ids.
    for text in (pending, queued.decode("utf-8", "replace")):
        assert CANARY not in text
    assert not any(marker in queued.decode("utf-8", "replace") for marker in HASH_MARKERS)
    # After it, neither plaintext nor verifier is anywhere.
    haystacks = {
        "database": dump_database(),
        "redis": redis_server.all_values().decode("utf-8", "replace"),
        "app log": caplog.text + "".join(capfd.readouterr()),
        "sshd log": sshd.log_text(),
        "backend logs": "\n".join(
            f"{e.script}{e.stdout}{e.stderr}{e.error}" for e in db.session.scalars(sa.select(BackendLog))
        ),
    }
    for where, text in haystacks.items():
        for secret in (CANARY, CANARY2, verifier, verifier.removeprefix("{SHA512-CRYPT}")):
            assert secret not in text, f"secret found in {where}"
    assert "[redacted]" in haystacks["backend logs"]
    assert watcher.seen == [], f"secret in a process's argv: {watcher.seen[:1]}"


def test_database_errors_hide_bound_values(app, acme):
    """(PostgreSQL's own DETAIL may still quote a unique key; no secret column has one.)"""
    db.session.add(Domain(account=account_named("Acme"), name="acme.test"))
    with pytest.raises(IntegrityError) as caught:
        db.session.commit()
    db.session.rollback()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)
