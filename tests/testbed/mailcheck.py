"""Mail self-check: `python -m tests.testbed.mailcheck` from the repo root.

Starts Dovecot (IMAP, LMTP, sieve) and Postfix, writes the passwd-file and
the maps by hand the way the application will, and proves delivery through
aliases, a catch-all, a private (rejected) address, a map change + reload,
and a sieve vacation reply. Then stops everything and checks nothing is left.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
from email.message import Message
from pathlib import Path

from passlib.hash import sha512_crypt

from .dovecot import Dovecot
from .postfix import Postfix
from .proc import alive, descendants

PASSWORD = "correct horse 42"
ALICE, BOB = "alice@example.org", "bob@other.test"
VACATION = 'require ["vacation"];\nvacation :days 1 :subject "Away" "I am away";\n'


def check(condition: object, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    print(f"  ok: {what}")


def home(dovecot: Dovecot, user: str) -> Path:
    local, domain = user.split("@")
    return dovecot.mail_root / domain / local


def write_passwd(dovecot: Dovecot, users: list[str]) -> None:
    """One passwd-file line per user, 0640 root:dovecot (see dovecot.py)."""
    lines = []
    for user in users:
        sha = "{SHA512-CRYPT}" + sha512_crypt.using(rounds=5000).hash(PASSWORD)
        lines.append(f"{user}:{sha}:5000:5000::{home(dovecot, user)}::userdb_quota_rule=*:storage=100M\n")
    tmp = dovecot.passwd_file.with_suffix(".tmp")
    tmp.write_text("".join(lines))
    shutil.copymode(dovecot.passwd_file, tmp)
    st = dovecot.passwd_file.stat()
    os.chown(tmp, st.st_uid, st.st_gid)
    tmp.replace(dovecot.passwd_file)


def write_sieve(dovecot: Dovecot, user: str, script: str) -> None:
    """~/.dovecot.sieve owned by vmail: lmtp compiles it beside it as vmail."""
    user_home = home(dovecot, user)
    user_home.mkdir(parents=True, exist_ok=True)
    os.chown(user_home, dovecot.vmail_uid, dovecot.vmail_gid)
    path = user_home / ".dovecot.sieve"
    path.write_text(script)
    os.chown(path, dovecot.vmail_uid, dovecot.vmail_gid)


def subjects(messages: list[Message]) -> list[str]:
    return [str(m["Subject"]) for m in messages]


def refused(postfix: Postfix, rcpt: str) -> bool:
    try:
        postfix.send(BOB, [rcpt], "should bounce", "nobody reads this")
    except smtplib.SMTPRecipientsRefused as err:
        print(f"    {rcpt}: {err.recipients[rcpt]}")
        return True
    return False


def prove(dovecot: Dovecot, postfix: Postfix) -> None:
    write_passwd(dovecot, [ALICE, BOB])
    check(
        dovecot.wait_login(ALICE, PASSWORD) and dovecot.wait_login(BOB, PASSWORD),
        "alice and bob log in (LMTP sees the same userdb)",
    )
    postfix.write_map("domains", ["example.org OK", "other.test OK"])
    postfix.write_map(
        "aliases",
        [
            f"{ALICE} {ALICE}",
            f"{BOB} {BOB}",
            "hidden@example.org hidden@example.org",
            f"sales@example.org {ALICE}, {BOB}",
            f"@example.org {BOB}",
        ],
    )
    postfix.write_map("private", ["hidden@example.org REJECT no such address"])
    postfix.reload()
    check(postfix.postmap_query("aliases", "sales@example.org") == f"{ALICE}, {BOB}", "postmap -q reads the alias map")
    check(postfix.check() == "", "postfix check is quiet")

    postfix.send(BOB, ["sales@example.org"], "to sales", "hello sales")
    check(subjects(dovecot.wait_for_messages(ALICE, PASSWORD, 1)) == ["to sales"], "sales@ reaches alice")
    check(subjects(dovecot.wait_for_messages(BOB, PASSWORD, 1)) == ["to sales"], "sales@ reaches bob")
    postfix.send(ALICE, ["nobody@example.org"], "to nobody", "catch me")
    check(
        subjects(dovecot.wait_for_messages(BOB, PASSWORD, 2))[1] == "to nobody",
        "nobody@ reaches bob through the catch-all",
    )
    check(refused(postfix, "hidden@example.org"), "hidden@ (private) is refused at RCPT")

    postfix.write_map("aliases", [f"{ALICE} {ALICE}", f"{BOB} {BOB}", "hidden@example.org hidden@example.org"])
    postfix.reload()
    check(refused(postfix, "sales@example.org"), "sales@ is refused once gone from aliases (no catch-all)")

    write_sieve(dovecot, ALICE, VACATION)
    postfix.send(BOB, [ALICE], "are you there", "ping", headers={"To": ALICE})
    check(
        subjects(dovecot.wait_for_messages(ALICE, PASSWORD, 2))[1] == "are you there",
        "alice still gets the mail with vacation on",
    )
    reply = dovecot.wait_for_messages(BOB, PASSWORD, 3)[2]
    check(
        reply["Subject"] == "Away" and reply["Auto-Submitted"] is not None,
        f"vacation reply in bob's INBOX ({reply['Subject']}, {reply['Auto-Submitted']})",
    )
    postfix.wait_queue_empty()
    check(True, "postfix queue empty")


def main() -> int:
    roots = [Path(tempfile.mkdtemp(prefix=f"mailcheck-{n}-")) for n in ("dovecot", "postfix")]
    dovecot = Dovecot(roots[0])
    started: list[Dovecot | Postfix] = []
    pids: list[int] = []
    try:
        dovecot.start()
        started.append(dovecot)
        postfix = Postfix(roots[1], dovecot.lmtp_port)
        postfix.start()
        started.append(postfix)
        dovecot.set_submission_host(f"{postfix.host}:{postfix.smtp_port}")
        print(f"imap :{dovecot.imap_port}  lmtp :{dovecot.lmtp_port}  smtp :{postfix.smtp_port}")
        prove(dovecot, postfix)
        for service in started:  # remember their processes, to prove they are gone
            if service._proc is not None:
                pids.extend([service._proc.pid, *descendants(service._proc.pid)])
    except BaseException:
        for service in started:
            print(f"--- {service.log_path}\n{service.log_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        for service in reversed(started):
            service.stop()
        dovecot.cleanup()

    leftovers = [p for p in set(pids) if alive(p)]
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    mine = [line for line in ps.splitlines() if any(str(r) in line for r in roots)]
    check(not leftovers and not mine, f"no processes left running {leftovers} {mine}")
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
