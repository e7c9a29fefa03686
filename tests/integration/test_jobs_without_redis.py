"""Without Redis (the demo), jobs run in the web process right after commit, on the local transport."""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from passlib.hash import sha512_crypt

from portal.extensions import db
from portal.models import Account, BackendLog, Domain, LogState, Mailbox, Status
from portal.orchestration.jobs import apply_server
from portal.orchestration.operations import record
from tests.helpers import change_password, mailbox, new_mailbox

PW = "local-pass-0001"


@pytest.fixture
def app_config():
    return {}  # no REDIS_URL


@pytest.fixture
def customer(web, make_account, local_server):
    make_account("Acme", domains=("acme.test",))
    web.login("acme@owner.test")
    return local_server


def passwd(server) -> str:
    path = Path(server.settings["dovecot_passwd_file"])
    return path.read_text() if path.exists() else ""


def test_change_is_applied_before_the_redirect(web, customer):
    assert new_mailbox(web, "alice", PW, quota=300).status_code == 302
    box = mailbox("alice@acme.test")
    assert box.status == Status.APPLIED
    user, verifier, uid, gid, _, home, _, extra = passwd(customer).strip().split(":", 7)
    assert (user, uid, gid) == ("alice@acme.test", str(os.getuid()), str(os.getgid()))
    assert sha512_crypt.verify(PW, verifier.removeprefix("{SHA512-CRYPT}"))
    assert Path(home).is_dir() and extra == "userdb_quota_rule=*:storage=300M"

    web.submit(f"/mailboxes/{box.id}/delete", {})
    assert mailbox("alice@acme.test") is None
    assert passwd(customer) == "" and not Path(home).exists()


def test_save_without_password_keeps_the_hash_on_the_server(web, customer):
    new_mailbox(web, "alice", PW, quota=300)
    before = passwd(customer)
    box = mailbox("alice@acme.test")
    box.quota_mb = 999
    record(box, "save")
    db.session.commit()  # applied in-process
    after = passwd(customer)
    assert after.split(":")[1] == before.split(":")[1]
    assert after.strip().endswith("storage=999M")


def test_save_without_any_password_refuses_just_that_mailbox(app, customer):
    account = db.session.scalar(sa.select(Account))
    box = Mailbox(account=account, domain=db.session.scalar(sa.select(Domain)), local_part="ghost")
    db.session.add(box)
    db.session.flush()
    record(box, "save")
    db.session.commit()
    db.session.refresh(box)
    assert box.status == Status.FAILED
    assert "ghost@acme.test has no password on the server yet" in box.last_error
    entry = db.session.scalars(sa.select(BackendLog)).one()
    # The one refused change fails; the script itself went through, with a word on stderr.
    assert entry.state == LogState.WARNING and entry.exit_code == 0
    assert "ghost@acme.test" not in passwd(customer)


def test_mtime_moves_even_when_the_size_does_not(web, customer):
    """Dovecot only rereads the file when mtime (seconds) or size changes."""
    new_mailbox(web, "alice", "same-length-01", quota=300)
    path = Path(customer.settings["dovecot_passwd_file"])
    first = path.stat()
    change_password(web, f"/mailboxes/{mailbox('alice@acme.test').id}", "same-length-02")
    second = path.stat()
    assert second.st_size == first.st_size
    assert int(second.st_mtime) > int(first.st_mtime)
    assert apply_server(customer.id)["log"] is None  # nothing left to do
