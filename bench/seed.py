"""A large installation on PostgreSQL, in bulk: `python -m bench.seed [DATABASE_URL]`.

- one reseller with 200 customer sub-accounts;
- 10,000 mailboxes, 5,000 of them in one account ("Big Customer");
- 20,000 addresses (one per mailbox, and as many forwards);
- 2,000 web apps, each with its system user;
- 100,000 audit events.

Logins (password "bench-password-1"): reseller@bench.example, big@bench.example (the 5,000
mailboxes), small0@bench.example…, and staff@bench.example with the TOTP seed STAFF_TOTP.
The database is dropped and made anew.
"""

from __future__ import annotations

import json
import sys
import time

import psycopg
import sqlalchemy as sa
from flask_migrate import upgrade

from bench import data
from portal import create_app
from portal.extensions import db
from portal.models import Role, Route, Server, User, usage, utcnow
from portal.security import totp
from portal.security.passwords import hash_password

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hostdeck_bench"
SECRET_KEY = "bench-secret-key"
PASSWORD = "bench-password-1"
STAFF_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SUB_ACCOUNTS, MAILBOXES, BIG_MAILBOXES, WEB_APPS, EVENTS = 200, 10_000, 5_000, 2_000, 100_000


def fresh_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    admin = parsed.set(database="postgres", drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def bench_app(url: str, **extra):
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": "",
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )


def vacuum() -> None:
    """As autovacuum would have by now: statistics, and the visibility map index-only scans need."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def seed(url: str = URL) -> dict:
    started = time.perf_counter()
    fresh_database(url)
    app = bench_app(url)
    with app.app_context():
        upgrade()
        pw = hash_password(PASSWORD)
        now = utcnow()
        [reseller] = data.accounts(["Bench Reseller"], kind="reseller")
        names = ["Big Customer"] + [f"Small {i}" for i in range(1, SUB_ACCOUNTS)]
        customers = data.accounts(names, parent_id=reseller)
        emails = ["big@bench.example"] + [f"small{i}@bench.example" for i in range(1, SUB_ACCOUNTS)]
        users = [{"email": "reseller@bench.example", "account_id": reseller}]
        users += [{"email": e, "account_id": a} for e, a in zip(emails, customers, strict=True)]
        data.insert(
            User,
            [
                {
                    **u,
                    "password_hash": pw,
                    "role": Role.OWNER.value,
                    "timezone": "UTC",
                    "active": True,
                    "totp_enabled": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for u in users
            ],
        )
        staff = User(email="staff@bench.example", password_hash=pw, role=Role.STAFF)
        db.session.add(staff)
        db.session.flush()
        staff.totp_secret = totp._fernet().encrypt(STAFF_TOTP.encode()).decode()
        staff.totp_enabled = True

        # Mail: 5,000 mailboxes in the big account, the rest spread; twice as many addresses.
        rest = MAILBOXES - BIG_MAILBOXES
        per_small = rest // (SUB_ACCOUNTS - 1)
        counts = [BIG_MAILBOXES] + [
            per_small + (1 if i < rest % (SUB_ACCOUNTS - 1) else 0) for i in range(SUB_ACCOUNTS - 1)
        ]
        for account, count, index in zip(customers, counts, range(SUB_ACCOUNTS), strict=True):
            domain = "big.example" if index == 0 else f"small{index}.example"
            data.mail(account, domain, count, 2 * count)
        # Hosting: ten web apps (and their system users) per account, no websites or databases here.
        per_account = WEB_APPS // SUB_ACCOUNTS
        for index, account in enumerate(customers):
            apps = data.insert(
                data.SystemUser,
                data.stamp(
                    [
                        {"account_id": account, "name": f"bench{index}_{i}", "shell": "sftp", "ssh_keys": ""}
                        for i in range(per_account)
                    ]
                ),
                ids=True,
            )
            data.insert(
                data.WebApp,
                data.stamp(
                    [
                        {
                            "account_id": account,
                            "system_user_id": u,
                            "name": "app",
                            "kind": "php",
                            "php_version": "8.2",
                            "options": {},
                        }
                        for u in apps
                    ]
                ),
            )
        data.events([*customers, reseller], EVENTS)
        # A mail server for the create-mailbox POST to record operations for (jobs are not run).
        server = Server(
            name="mail1",
            host="localhost",
            transport="local",
            settings={
                "dovecot_passwd_file": "/nonexistent/users",
                "dovecot_scheme": "SHA512-CRYPT",
                "mail_root": "/nonexistent",
            },
        )
        db.session.add_all([server, Route(backend="dovecot", server=server), Route(backend="postfix", server=server)])
        db.session.flush()
        data.mail_readings(server.id)  # the mailbox list shows each one's use
        usage.recount(db.session)  # bulk inserts skip the flush that keeps the counters
        db.session.commit()
        vacuum()
        counted = {
            table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in ("account", "mailbox", "address", "web_app", "audit_event")
        }
        db.engine.dispose()
    return {"seconds": round(time.perf_counter() - started, 1), "rows": counted}


if __name__ == "__main__":
    print(json.dumps(seed(sys.argv[1] if len(sys.argv) > 1 else URL)))
