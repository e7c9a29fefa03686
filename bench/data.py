"""Bulk rows for the benchmark seed and the query-count tests: Core inserts, many rows per statement."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Account,
    Address,
    AuditEvent,
    Database,
    DatabaseUser,
    Domain,
    Mailbox,
    Reading,
    Status,
    SystemUser,
    WebApp,
    Website,
    address_mailbox,
    database_grant,
    utcnow,
    website_domain,
)

CHUNK = 5000


def insert(model, rows: list[dict], ids: bool = False) -> list[int]:
    """Insert rows in chunks; their ids in order if asked."""
    found: list[int] = []
    target = model.__table__ if hasattr(model, "__table__") else model
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if ids:
            found += db.session.scalars(
                sa.insert(target).returning(target.c.id, sort_by_parameter_order=True), chunk
            ).all()
        else:
            db.session.execute(sa.insert(target), chunk)
    return found


def stamp(rows: list[dict]) -> list[dict]:
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
        row.setdefault("status", Status.APPLIED.value)
    return rows


def accounts(names: list[str], *, parent_id: int | None = None, kind: str = "customer") -> list[int]:
    now = utcnow()
    return insert(
        Account,
        [
            {
                "name": n,
                "kind": kind,
                "parent_id": parent_id,
                "active": True,
                "created_at": now,
                "updated_at": now,
                "allow_login_shell": False,
                "deletion_total": 0,
            }
            for n in names
        ],
        ids=True,
    )


def mail(account_id: int, domain: str, mailboxes: int, addresses: int) -> tuple[int, list[int]]:
    """A domain with mailboxes m0…, and addresses: one per mailbox, then forwards f0…"""
    [domain_id] = insert(Domain, stamp([{"account_id": account_id, "name": domain}]), ids=True)
    boxes = insert(
        Mailbox,
        stamp(
            [
                {
                    "account_id": account_id,
                    "domain_id": domain_id,
                    "local_part": f"m{i}",
                    "quota_mb": 100,
                    "autoreply_enabled": False,
                    "autoreply_subject": "",
                    "autoreply_message": "",
                }
                for i in range(mailboxes)
            ]
        ),
        ids=True,
    )
    rows = [
        {"account_id": account_id, "domain_id": domain_id, "local_part": f"m{i}", "forwards": []}
        for i in range(min(addresses, mailboxes))
    ]
    rows += [
        {
            "account_id": account_id,
            "domain_id": domain_id,
            "local_part": f"f{i}",
            "forwards": [f"someone{i}@example.net"],
        }
        for i in range(addresses - len(rows))
    ]
    address_ids = insert(Address, stamp(rows), ids=True)
    insert(address_mailbox, [{"address_id": a, "mailbox_id": m} for a, m in zip(address_ids, boxes, strict=False)])
    return domain_id, boxes


def hosting(account_id: int, tag: str, count: int, domain_id: int | None = None) -> None:
    """count system users, each with one web app; count websites; count databases, each with a user."""
    users = insert(
        SystemUser,
        stamp(
            [{"account_id": account_id, "name": f"{tag}_{i}", "shell": "sftp", "ssh_keys": ""} for i in range(count)]
        ),
        ids=True,
    )
    insert(
        WebApp,
        stamp(
            [
                {
                    "account_id": account_id,
                    "system_user_id": u,
                    "name": "app",
                    "kind": "static",
                    "php_version": "",
                    "options": {},
                }
                for u in users
            ]
        ),
    )
    sites = insert(
        Website,
        stamp(
            [
                {"account_id": account_id, "name": f"site {i}", "with_www": True, "https": False, "certificate": ""}
                for i in range(count)
            ]
        ),
        ids=True,
    )
    if domain_id is not None and sites:
        insert(website_domain, [{"website_id": sites[0], "domain_id": domain_id}])
    dbs = insert(
        Database,
        stamp(
            [
                {"account_id": account_id, "engine": "mariadb", "name": f"{tag}_db{i}", "size_bytes": 1024 * i}
                for i in range(count)
            ]
        ),
        ids=True,
    )
    db_users = insert(
        DatabaseUser,
        stamp([{"account_id": account_id, "engine": "mariadb", "name": f"{tag}_u{i}"} for i in range(count)]),
        ids=True,
    )
    insert(database_grant, [{"database_id": d, "user_id": u} for d, u in zip(dbs, db_users, strict=True)])


def events(account_ids: list[int], count: int, actor_id: int | None = None) -> None:
    now = utcnow()
    insert(
        AuditEvent,
        [
            {
                "account_id": account_ids[i % len(account_ids)],
                "actor_id": actor_id,
                "action": "mailbox.save",
                "object_type": "Mailbox",
                "object_id": i,
                "object_name": f"m{i}@bench.example",
                "fields": {},
                "ip": "192.0.2.1",
                "created_at": now - timedelta(seconds=i),
                "updated_at": now - timedelta(seconds=i),
            }
            for i in range(count)
        ],
    )


def mail_readings(server_id: int) -> None:
    """What a usage round would have read: each mailbox's size and message count."""
    now = utcnow()
    boxes = db.session.execute(sa.select(Mailbox.id, Mailbox.account_id)).all()
    rows = [
        {
            "object_type": "Mailbox",
            "object_id": box_id,
            "metric": metric,
            "server_id": server_id,
            "account_id": account_id,
            "value": value,
            "at": now,
        }
        for box_id, account_id in boxes
        for metric, value in (("mail_bytes", (box_id % 97) * 1024 * 1024), ("mail_messages", box_id % 500))
    ]
    insert(Reading, rows)
