"""Keep what a round read: samples, the hour's and the day's rollups, the newest readings.

Bulk statements (a round brings thousands of values), upserts on both PostgreSQL and SQLite: a
counter's rollup adds the round's count, a gauge's keeps the period's highest value. They name their
accounts (revisions.touch), so only those accounts' kept pages are rendered again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import revisions
from portal.models.base import rowcount
from portal.models.metering import COUNTERS, Measured, Period, Reading, Rollup, Sample

Key = tuple[str, int, str, str, datetime]  # object type, id, metric, period, start
CHUNK = 2000  # rows per statement: well inside every database's parameter limit


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def day_of(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


Row = dict[str, Any]
Upsert = postgresql.Insert | sqlite.Insert


def insert_for(table: sa.Table) -> Upsert:
    """An INSERT that can say ON CONFLICT, in the session's database's dialect."""
    if db.engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _chunks(rows: list[Row], size: int = CHUNK) -> Iterable[list[Row]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _rollups(server_id: int, measured: list[Measured]) -> list[Row]:
    """One row per object, metric and period: counters summed, gauges at their highest."""
    rows: dict[Key, Row] = {}
    for m in measured:
        for period, start in ((Period.HOUR, hour_of(m.at)), (Period.DAY, day_of(m.at))):
            key = (m.object_type, m.object_id, str(m.metric), str(period), start)
            row = rows.get(key)
            if row is None:
                rows[key] = {
                    "object_type": m.object_type,
                    "object_id": m.object_id,
                    "metric": str(m.metric),
                    "period": str(period),
                    "start": start,
                    "server_id": server_id,
                    "account_id": m.account_id,
                    "value": m.value,
                }
            elif m.metric in COUNTERS:
                row["value"] += m.value
            else:
                row["value"] = max(row["value"], m.value)
    return list(rows.values())


def store(server_id: int, measured: list[Measured]) -> None:
    """In the caller's transaction."""
    if not measured:
        return
    session = db.session
    samples = [
        {
            "server_id": server_id,
            "account_id": m.account_id,
            "object_type": m.object_type,
            "object_id": m.object_id,
            "metric": str(m.metric),
            "value": m.value,
            "at": m.at,
        }
        for m in measured
    ]
    for chunk in _chunks(samples):
        session.execute(revisions.named(sa.insert(Sample)), chunk)
    table = cast(sa.Table, Rollup.__table__)
    is_pg = db.engine.dialect.name == "postgresql"
    rollups = _rollups(server_id, measured)
    for counters in (True, False):
        rows = [r for r in rollups if (r["metric"] in COUNTERS) == counters]
        for chunk in _chunks(rows):
            stmt = insert_for(table).values(chunk)
            if counters:
                value = table.c.value + stmt.excluded.value
            else:
                value = (sa.func.greatest if is_pg else sa.func.max)(table.c.value, stmt.excluded.value)
            stmt = stmt.on_conflict_do_update(index_elements=list(table.primary_key), set_={"value": value})
            session.execute(revisions.named(stmt))
    newest: dict[tuple[str, int, str], Measured] = {}
    for m in measured:
        if m.metric not in COUNTERS:
            key = (m.object_type, m.object_id, str(m.metric))
            if key not in newest or newest[key].at <= m.at:
                newest[key] = m
    readings = [
        {
            "object_type": m.object_type,
            "object_id": m.object_id,
            "metric": str(m.metric),
            "server_id": server_id,
            "account_id": m.account_id,
            "value": m.value,
            "at": m.at,
        }
        for m in newest.values()
    ]
    reading = cast(sa.Table, Reading.__table__)
    for chunk in _chunks(readings):
        stmt = insert_for(reading).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(reading.primary_key),
            set_={"value": stmt.excluded.value, "at": stmt.excluded.at},
        )
        session.execute(revisions.named(stmt))
    revisions.touch(session, {m.account_id for m in measured})


def forget_gone(server_id: int, seen: dict[str, set[int]], types: Iterable[str]) -> None:
    """Readings of objects the server no longer holds (deleted, moved) are no current use."""
    for object_type in types:
        stmt = sa.delete(Reading).where(Reading.server_id == server_id, Reading.object_type == object_type)
        ids = seen.get(object_type, set())
        if ids:
            stmt = stmt.where(Reading.object_id.not_in(ids))
        db.session.execute(revisions.named(stmt))  # their objects' deletes moved the revisions


def prune(now: datetime, raw_days: int, hourly_days: int, daily_days: int) -> int:
    """Drop samples and rollups past their keeping time (the sweep calls it)."""
    # named(): no page shows what is this old, so no kept page needs rendering again
    old = sa.delete(Sample).where(Sample.at < now - timedelta(days=raw_days))
    gone = rowcount(db.session.execute(revisions.named(old)))
    for period, days in ((Period.HOUR, hourly_days), (Period.DAY, daily_days)):
        old = sa.delete(Rollup).where(Rollup.period == str(period), Rollup.start < now - timedelta(days=days))
        gone += rowcount(db.session.execute(revisions.named(old)))
    return gone
