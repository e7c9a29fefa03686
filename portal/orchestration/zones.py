"""STUB of the lead's zones.py (contract in /work/notes/common.md), so the dnspages branch runs before
main has the real one. Merging main replaces this file with main's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Status
from portal.models.dns import DnsRecord

# Tests of the dnspages branch set this to make published() answer (stub only).
PUBLISHED_FOR_TESTS: dict[int, list[Published]] = {}


@dataclass(frozen=True)
class Published:
    name: str
    rtype: str
    ttl: int
    value: str
    source: str

    @property
    def words(self) -> str:
        return self.source


def published(domain: Domain) -> list[Published]:
    return list(PUBLISHED_FOR_TESTS.get(domain.id, []))


def custom(domain: Domain) -> list[DnsRecord]:
    return list(
        db.session.scalars(
            sa.select(DnsRecord)
            .where(DnsRecord.domain_id == domain.id, DnsRecord.status != Status.DELETING)
            .order_by(DnsRecord.name, DnsRecord.rtype, DnsRecord.id)
        )
    )


def republish(domains: Any, actor: Any = None) -> None:
    return None
