"""DKIM: the key pair is made on the mail server, mail through a real Postfix and OpenDKIM arrives signed,
and dkimpy verifies it with the key fetched from a real BIND; rotation, deletion, and what never leaks."""

from __future__ import annotations

import imaplib
import logging
import os
import stat
import subprocess
import time
from datetime import timedelta

import dkim as dkimpy
import dns.message
import dns.query
import dns.rdatatype
import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from portal.extensions import db
from portal.models import BackendLog, Domain, LogState, Route, utcnow
from portal.models.dns import DkimKey, DkimState
from portal.orchestration import dkim_flow
from portal.orchestration.backends.opendkim import OpenDkimBackend
from portal.orchestration.operations import requeue
from portal.orchestration.queue import queue
from portal.orchestration.script import Script, UnsafeValue
from portal.services.orchestration import resync_server
from tests.helpers import domain_id, dump_database, new_mailbox
from tests.integration.test_secrets_stay_secret import PROBE, ArgvWatcher
from tests.testbed.bind import Bind
from tests.testbed.plugin import running

PW = "mail-password-1"


@pytest.fixture(scope="module")
def dkim_dns(tmp_path_factory):
    """The DNS receivers ask for acme.test's keys (the customer's own, for now: we do not host it)."""
    with running(Bind(tmp_path_factory.mktemp("dkim-dns"), zones=("acme.test",))) as server:
        yield server


@pytest.fixture
def acme(web, make_account, signer, signing_postfix, work, dovecot):
    """Acme, logged in, with acme.test and the mailbox alice@ applied: its first key made and signing."""
    make_account("Acme")
    web.login("acme@owner.test")
    assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
    assert new_mailbox(web, "alice", PW, quota=50, with_address=True).status_code == 302
    work()
    signing_postfix.settle()
    assert dovecot.wait_login("alice@acme.test", PW)
    return signing_postfix


def keys() -> list[DkimKey]:
    return db.session.scalars(sa.select(DkimKey).order_by(DkimKey.id)).all()


def publish(bind: Bind, key: DkimKey) -> None:
    """The customer puts the record the domain page shows into their DNS."""
    record = dkim_flow.record_of(key.domain, key)

    def change(update, owner):
        update.delete(owner, "TXT")
        update.add(owner, 60, "TXT", " ".join(f'"{part}"' for part in record.strings))

    bind._update(record.name, change)


def resolver(bind: Bind):
    """dkimpy's dnsfunc: the TXT record, its strings joined, from the test BIND."""

    def lookup(name, timeout=5):
        query = dns.message.make_query(name.decode() if isinstance(name, bytes) else name, dns.rdatatype.TXT)
        reply = dns.query.udp(query, bind.host, port=bind.port, timeout=timeout)
        for rrset in reply.answer:
            for rdata in rrset:
                return b"".join(rdata.strings)
        return None

    return lookup


def raw_messages(dovecot, user: str, count: int, timeout: float = 20) -> list[bytes]:
    """The messages as delivered, byte for byte (a parsed message may be written back otherwise)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
            try:
                imap.login(user, PW)
                imap.select("INBOX", readonly=True)
                _, data = imap.search(None, "ALL")
                ids = data[0].split()
                found = [imap.fetch(i, "(RFC822)")[1][0][1] for i in ids]
            finally:
                imap.logout()
        except imaplib.IMAP4.error:
            found = []
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} messages for {user}, wanted {count}"
            return found
        time.sleep(0.2)


def signature(message: bytes) -> dict[str, str]:
    header = message.split(b"DKIM-Signature:", 1)[1].split(b"\r\n\r\n", 1)[0].split(b"\n\r\n", 1)[0]
    tags = {}
    for part in b" ".join(header.split()).split(b";"):
        name, _, value = part.strip().partition(b"=")
        tags[name.decode()] = value.decode()
    return tags


def send_and_verify(acme, dovecot, dns_server, count: int, subject: str) -> dict[str, str]:
    acme.send("bob@acme.test", ["alice@acme.test"], subject, "Signed, sealed, delivered.")
    message = raw_messages(dovecot, "alice@acme.test", count)[-1]
    assert subject.encode() in message
    assert b"DKIM-Signature:" in message, message.decode(errors="replace")
    assert dkimpy.verify(message, dnsfunc=resolver(dns_server)), message.decode(errors="replace")
    return signature(message)


def test_mail_is_signed_with_a_key_made_on_the_mail_server(web, acme, opendkim, dovecot, dkim_dns):
    (key,) = keys()
    # Nobody of ours runs acme.test's DNS: the key signs at once, and the page shows the record to publish.
    assert key.state == DkimState.ACTIVE and key.active_at is not None
    assert key.selector.startswith("hd") and len(key.public_key) > 300
    (path,) = opendkim.key_files()
    assert path == opendkim.keys_dir / "acme.test" / f"{key.selector}.private"
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == opendkim.uid
    key_table, signing_table = opendkim.tables()
    assert key_table == f"{key.selector}._domainkey.acme.test acme.test:{key.selector}:{path}\n"
    assert signing_table == f"*@acme.test {key.selector}._domainkey.acme.test\n"

    page = web.get(f"/domains/{domain_id('acme.test')}").get_data(as_text=True)
    assert f"selector {key.selector}" in page
    assert f"{key.selector}._domainkey.acme.test" in page and key.public_key in page
    assert "Rotate the DKIM key" in page

    publish(dkim_dns, key)
    tags = send_and_verify(acme, dovecot, dkim_dns, 1, "Signed 1")
    assert (tags["d"], tags["s"]) == ("acme.test", key.selector)


def work_one(app) -> None:
    """One job only, as a worker would take it: what it queued waits."""
    q = queue(app)
    with app.app_context():
        SimpleWorker([q], connection=q.connection, serializer=q.serializer).work(burst=True, max_jobs=1)
    db.session.expire_all()


def test_rotation_keeps_the_old_key_until_the_new_one_signs(app, web, acme, opendkim, dovecot, dkim_dns, work):
    (old,) = keys()
    publish(dkim_dns, old)
    show = f"/domains/{domain_id('acme.test')}"
    assert web.submit(show, {}, post_url=f"{show}/dkim/rotate").status_code == 302
    assert web.submit(show, {}, post_url=f"{show}/dkim/rotate").status_code == 302  # refused: one at a time
    page = web.get(show).get_data(as_text=True)
    assert "on its way already" in page and "Rotation in progress" in page
    assert len(keys()) == 2

    work_one(app)  # the mail server makes the new key and prints it; the tables still sign with the old
    old, new = keys()
    assert new.public_key and new.state == DkimState.ACTIVE
    assert old.state == DkimState.RETIRING and old.retire_at > utcnow() + timedelta(days=6)
    assert f"{old.selector}._domainkey" in opendkim.tables()[1]
    assert send_and_verify(acme, dovecot, dkim_dns, 1, "Still old")["s"] == old.selector

    work()  # then the tables follow the new key
    publish(dkim_dns, new)
    assert opendkim.tables()[1] == f"*@acme.test {new.selector}._domainkey.acme.test\n"
    assert send_and_verify(acme, dovecot, dkim_dns, 2, "Now new")["s"] == new.selector
    # The old key is still published and on the server, so mail signed with it before still verifies.
    page = web.get(show).get_data(as_text=True)
    assert old.public_key in page and "stays published until" in page
    assert len(opendkim.key_files()) == 2

    old.retire_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert dkim_flow.sweep_retired() == 1
    work()
    assert [k.selector for k in keys()] == [new.selector]
    assert [p.stem for p in opendkim.key_files()] == [new.selector]
    assert f"{old.selector}._domainkey" not in "".join(opendkim.tables())
    assert old.public_key not in web.get(show).get_data(as_text=True)


def test_deleting_a_domain_removes_its_keys(web, acme, opendkim, work):
    assert web.submit("/domains/", {"name": "spare.test"}).status_code == 302
    work()
    spare = db.session.scalar(sa.select(Domain).where(Domain.name == "spare.test"))
    spare_id = spare.id
    (key,) = db.session.scalars(sa.select(DkimKey).where(DkimKey.domain_id == spare_id)).all()
    assert (opendkim.keys_dir / "spare.test" / f"{key.selector}.private").exists()
    assert "spare.test" in opendkim.tables()[1]

    page = f"/domains/{spare_id}/delete"
    assert web.submit(page, {}).status_code == 302
    work()
    assert db.session.scalar(sa.select(Domain).where(Domain.name == "spare.test")) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DkimKey).where(DkimKey.domain_id == spare_id)) == 0
    assert not (opendkim.keys_dir / "spare.test").exists()
    assert "spare.test" not in "".join(opendkim.tables())
    assert "acme.test" in opendkim.tables()[1]  # the other domain still signs


def test_the_private_key_never_leaves_the_mail_server(
    web, make_account, signer, opendkim, redis_server, work, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    make_account("Acme")
    web.login("acme@owner.test")
    watcher = ArgvWatcher(["PRIVATE KEY", PROBE])
    watcher.start()
    subprocess.run(["sh", "-c", "sleep 0.3", PROBE], check=True)
    time.sleep(0.05)
    assert any(PROBE.encode() in argv for argv in watcher.seen)  # it sees short-lived processes
    watcher.seen.clear()
    try:
        assert web.submit("/domains/", {"name": "acme.test"}).status_code == 302
        work()
    finally:
        watcher.stop.set()
        watcher.join()
    (path,) = opendkim.key_files()
    pem = path.read_text()
    assert "PRIVATE KEY" in pem
    # A line from the middle of the key: any copy of it would hold it.
    canary = pem.splitlines()[10]
    logs = db.session.scalars(sa.select(BackendLog)).all()
    haystacks = {
        "database": dump_database(),
        "backend logs": "".join(f"{e.script}{e.stdout}{e.stderr}" for e in logs),
        "redis": redis_server.all_values().decode("utf-8", "replace"),
        "app log": caplog.text + "".join(capfd.readouterr()),
    }
    for where, text in haystacks.items():
        assert canary not in text and "PRIVATE KEY" not in text, where
    assert watcher.seen == []
    (key,) = keys()
    assert key.public_key in haystacks["database"]  # the public key is what came back


def test_hostile_names_never_reach_a_script(web, acme, opendkim, work):
    domain = db.session.scalar(sa.select(Domain).where(Domain.name == "acme.test"))
    db.session.add(DkimKey(domain_id=domain.id, selector="x;touch${IFS}/tmp/dkim-pwned", state=DkimState.NEW))
    server = db.session.scalar(sa.select(Route).where(Route.backend == "opendkim")).server
    requeue(server, "opendkim", "Domain", domain.id)
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.max(BackendLog.id)))
    work()
    entry = db.session.scalar(sa.select(BackendLog).where(BackendLog.id > before))
    assert entry.state == LogState.FAILURE
    assert "cannot be a DKIM selector" in entry.error and not entry.script
    assert not os.path.exists("/tmp/dkim-pwned")

    for name in ("a$(id).test", "a;b.test", "../etc.test", "a b.test"):
        with pytest.raises(UnsafeValue):
            OpenDkimBackend().save(Script(), server, Domain(id=domain.id, name=name), None)
        with pytest.raises(UnsafeValue):
            OpenDkimBackend().delete(Script(), server, {"domain": name})


def test_flask_dkim_rotate(app, acme, work):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["dkim", "rotate", "acme.test"])
    assert result.exit_code == 0 and "new key hd" in result.output, result.output
    again = runner.invoke(args=["dkim", "rotate", "acme.test"])
    assert again.exit_code != 0 and "on its way already" in again.output
    assert runner.invoke(args=["dkim", "rotate", "nowhere.test"]).exit_code != 0
    work()
    assert [k.state for k in keys()] == [DkimState.RETIRING, DkimState.ACTIVE]
    assert "dropped 0 retired key(s)" in runner.invoke(args=["dkim", "sweep"]).output


def test_a_domain_from_before_dkim_gets_its_key_on_a_resync(make_account, signer, opendkim, work):
    make_account("Acme", domains=("acme.test",))  # there before the mail server signed anything
    assert keys() == []
    resync_server(None, signer.id)
    db.session.commit()
    work()
    (key,) = keys()
    assert key.state == DkimState.ACTIVE and key.public_key
    assert [p.stem for p in opendkim.key_files()] == [key.selector]
    assert f"*@acme.test {key.selector}._domainkey.acme.test" in opendkim.tables()[1]
