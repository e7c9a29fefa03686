"""The fan-out benchmark's installation, in bulk: 200 managed servers behind one real sshd, each with
its own paths, and a reseller whose 200 sub-accounts each live on one of them (placements).

Every server runs Dovecot and Postfix routes. The first server's Dovecot is the real one the bench
starts (its passwd-file, its mail root); the others write their own passwd-file and Postfix maps
under the bench's folder (no postmap there: plain map files, no Postfix to reload). Each server's
passwd-file starts with its mailboxes in it, as an installation that has been running for a while.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import data
from bench.seed import fresh_database
from portal.extensions import db
from portal.models import Domain, Mailbox, Placement, Role, Route, Server, User, usage, utcnow
from portal.orchestration import verifiers
from portal.security.passwords import hash_password
from tests.testbed.dovecot import Dovecot
from tests.testbed.sshd import Sshd

PASSWORD = "Fanout-cobalt-meadow-58"
QUOTA_MB = 100
MAIL_ID = 5000  # vmail


@dataclass(frozen=True)
class Shape:
    servers: int = 200
    mailboxes: int = 20_000

    @property
    def per_account(self) -> int:
        return self.mailboxes // self.servers


def server_root(root: Path, index: int) -> Path:
    return root / "servers" / f"s{index}"


def server_settings(root: Path, index: int, dovecot: Dovecot) -> dict:
    here = server_root(root, index)
    real = index == 0
    return {
        "dovecot_passwd_file": str(dovecot.passwd_file if real else here / "dovecot" / "users"),
        "dovecot_passwd_group": "dovecot" if real else "",
        "dovecot_scheme": "SHA512-CRYPT",
        "mail_root": str(dovecot.mail_root if real else here / "vmail"),
        "mail_uid": MAIL_ID,
        "mail_gid": MAIL_ID,
        "postfix_maps_dir": str(here / "postfix"),
        "postfix_postmap": "",
    }


def domain_name(index: int) -> str:
    return f"sub{index}.example"


def write_passwd_files(root: Path, shape: Shape, dovecot: Dovecot) -> None:
    """What each server holds before the bench: its mailboxes, one password for all."""
    verifier = verifiers.dovecot("SHA512-CRYPT", PASSWORD)
    shutil.rmtree(root / "servers", ignore_errors=True)
    for index in range(shape.servers):
        settings = server_settings(root, index, dovecot)
        passwd = Path(settings["dovecot_passwd_file"])
        passwd.parent.mkdir(parents=True, exist_ok=True)
        domain = domain_name(index)
        lines = [
            f"m{j}@{domain}:{verifier}:{MAIL_ID}:{MAIL_ID}::{settings['mail_root']}/{domain}/m{j}::"
            f"userdb_quota_rule=*:storage={QUOTA_MB}M\n"
            for j in range(shape.per_account)
        ]
        passwd.write_text("".join(lines))
        if index == 0:  # the real Dovecot's auth process reads it as the dovecot user
            os.chown(passwd, 0, Path(dovecot.auth_dir).stat().st_gid)
            passwd.chmod(0o640)


def seed(url: str, root: Path, shape: Shape, sshd: Sshd, dovecot: Dovecot) -> dict[str, int]:
    """A fresh database: the servers and their routes, the reseller, its sub-accounts placed one per
    server, each with a proved domain and its mailboxes. Returns the ids the bench acts with."""
    fresh_database(url)
    upgrade()
    now, pw = utcnow(), hash_password(PASSWORD)
    servers = data.insert(
        Server,
        [
            {
                "name": f"mail{index:03d}",
                "host": sshd.host,
                "port": sshd.port,
                "ssh_user": sshd.user,
                "host_key": sshd.host_key_line,
                "transport": "ssh",
                "settings": server_settings(root, index, dovecot),
                "created_at": now,
                "updated_at": now,
            }
            for index in range(shape.servers)
        ],
        ids=True,
    )
    data.insert(
        Route,
        [
            {"backend": backend, "server_id": s, "created_at": now, "updated_at": now}
            for s in servers
            for backend in ("dovecot", "postfix")
        ],
    )
    [reseller] = data.accounts(["Fanout Reseller"], kind="reseller")
    accounts = data.accounts([f"Customer {i}" for i in range(shape.servers)], parent_id=reseller)
    users = [("reseller@fanout.example", reseller, Role.OWNER), ("staff@fanout.example", None, Role.STAFF)]
    users += [(f"c{i}@fanout.example", a, Role.OWNER) for i, a in enumerate(accounts)]
    data.insert(
        User,
        [
            {
                "email": email,
                "account_id": account,
                "password_hash": pw,
                "role": role.value,
                "timezone": "UTC",
                "active": True,
                "totp_enabled": False,
                "created_at": now,
                "updated_at": now,
            }
            for email, account, role in users
        ],
    )
    data.insert(
        Placement,
        [
            {"account_id": a, "server_id": s, "created_at": now, "updated_at": now}
            for a, s in zip(accounts, servers, strict=True)
        ],
    )
    domains = data.insert(
        Domain,
        data.stamp([{"account_id": a, "name": domain_name(i), "verified_at": now} for i, a in enumerate(accounts)]),
        ids=True,
    )
    data.insert(
        Mailbox,
        data.stamp(
            [
                {
                    "account_id": a,
                    "domain_id": d,
                    "local_part": f"m{j}",
                    "quota_mb": QUOTA_MB,
                    "autoreply_enabled": False,
                    "autoreply_subject": "",
                    "autoreply_message": "",
                }
                for a, d in zip(accounts, domains, strict=True)
                for j in range(shape.per_account)
            ]
        ),
    )
    usage.recount(db.session)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    write_passwd_files(root, shape, dovecot)
    return {"reseller": reseller, "servers": len(servers), "accounts": len(accounts)}
