"""What the servers measured, read for people: an object's use against its quota and its last 30
days, an account's totals, a reseller's sub-accounts' totals, staff's heaviest accounts per server.

Every read goes through scoping (`scoped()` for the customer's faces, `console()` for staff), so
someone else's object answers 404 and someone else's figures are never summed in. Each is a few
queries on the metering indexes, whatever the number of objects:

- `Reading` (newest gauge per object and server): an object's size, an account's stored bytes
  (ix_usage_reading_account), staff's ranking per server (ix_usage_reading_server);
- `Rollup` per day: a chart is one range of its primary key; an account's 30-day counters one range
  of ix_usage_rollup_account.

Days are UTC days (the daily rollups' boundaries): the pages say so. An object measured on several
servers (a website served by two) adds up what each server measured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Account, Database, Domain, Mailbox, Server, SystemUser, WebApp, Website, utcnow
from portal.models.metering import COUNTERS, MIB, Metric, Period, Reading, Rollup
from portal.security.scoping import Actor, Owned, console, get_scoped_or_404, scoped
from portal.services.overview import fullness

DAYS = 30

# What each kind's page shows: gauges are read from the newest readings, counters add up 30 days.
METRICS: dict[type, tuple[Metric, ...]] = {
    Mailbox: (Metric.MAIL_BYTES, Metric.MAIL_MESSAGES),
    SystemUser: (Metric.DISK_BYTES,),
    WebApp: (Metric.DISK_BYTES,),
    Database: (Metric.DATABASE_BYTES,),
    Website: (Metric.REQUESTS, Metric.BYTES_SERVED),
    Domain: (Metric.MAIL_RECEIVED, Metric.MAIL_SENT),
}
# An account's stored bytes: a web app's folder lies in its system user's home, so disk is the
# system users' alone (adding the apps' would count their files twice).
STORED = ((Metric.MAIL_BYTES, "Mailbox"), (Metric.DISK_BYTES, "SystemUser"), (Metric.DATABASE_BYTES, "Database"))
TOTALS = (
    Metric.MAIL_BYTES,
    Metric.DISK_BYTES,
    Metric.DATABASE_BYTES,
    Metric.REQUESTS,
    Metric.BYTES_SERVED,
    Metric.MAIL_RECEIVED,
    Metric.MAIL_SENT,
)


def days_until(now: datetime) -> list[date]:
    """The last DAYS UTC days, today's last."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _first_day(now: datetime | None) -> datetime:
    """Where the last DAYS begin: what the 30-day counters add up from."""
    return _midnight(days_until(now or utcnow())[0])


@dataclass(frozen=True)
class Figure:
    """One metric's current use: a gauge's newest value, a counter's 30 days. `quota` in the same unit."""

    metric: Metric
    value: int
    quota: int | None = None

    @property
    def counter(self) -> bool:
        return self.metric in COUNTERS

    @property
    def percent(self) -> int:
        return fullness(self.value, self.quota)[0]

    @property
    def level(self) -> str:
        """The bar's colour, as the limits' bars have it."""
        return fullness(self.value, self.quota)[1]


@dataclass(frozen=True)
class ObjectUsage:
    figures: list[Figure]
    days: list[date]
    series: dict[Metric, list[int]]  # per metric, one value per day of `days`
    measured_at: datetime | None

    @property
    def measured(self) -> bool:
        return self.measured_at is not None


def object_usage(actor: Actor, model: type[Owned], object_id: int, now: datetime | None = None) -> ObjectUsage:
    """The object's use and its 30 days; someone else's object is a 404, like a missing one."""
    obj = get_scoped_or_404(model, object_id, actor)
    metrics = METRICS[model]
    name = model.__name__
    days = days_until(now or utcnow())
    readings = db.session.execute(
        scoped(Reading, actor)
        .where(Reading.object_type == name, Reading.object_id == obj.id)
        .with_only_columns(Reading.metric, sa.func.sum(Reading.value), sa.func.max(Reading.at))
        .group_by(Reading.metric)
    ).all()
    per_day = db.session.execute(
        scoped(Rollup, actor)
        .join(Server, Server.id == Rollup.server_id)
        .where(
            Rollup.object_type == name,
            Rollup.object_id == obj.id,
            Rollup.metric.in_([str(m) for m in metrics]),
            Rollup.period == str(Period.DAY),
            Rollup.start >= _midnight(days[0]),
        )
        .with_only_columns(Rollup.metric, Rollup.start, sa.func.sum(Rollup.value), sa.func.max(Server.measured_at))
        .group_by(Rollup.metric, Rollup.start)
    ).all()
    index = {day: i for i, day in enumerate(days)}
    series = {metric: [0] * DAYS for metric in metrics}
    times: list[datetime] = [at for _, _, at in readings if at is not None]
    for metric, start, value, measured_at in per_day:
        i = index.get(start.astimezone(UTC).date())
        if i is not None and metric in series:
            series[Metric(metric)][i] = int(value)
        if measured_at is not None:
            times.append(measured_at)
    current = {Metric(metric): int(value) for metric, value, _ in readings}
    figures = []
    for metric in metrics:
        value = sum(series[metric]) if metric in COUNTERS else current.get(metric, 0)
        quota = obj.quota_mb * MIB if isinstance(obj, Mailbox) and metric == Metric.MAIL_BYTES else None
        figures.append(Figure(metric, value, quota))
    return ObjectUsage(figures, days, series, max(times) if times else None)


@dataclass
class Totals:
    """An account's use: stored bytes now, traffic and mail over 30 days."""

    values: dict[Metric, int] = field(default_factory=dict)
    measured_at: datetime | None = None

    def get(self, metric: Metric) -> int:
        return self.values.get(metric, 0)

    @property
    def stored(self) -> int:
        return sum(self.get(metric) for metric, _ in STORED)

    @property
    def measured(self) -> bool:
        return self.measured_at is not None

    def saw(self, at: datetime | None) -> None:
        if at is not None and (self.measured_at is None or at > self.measured_at):
            self.measured_at = at


def _stored_kinds() -> sa.ColumnElement[bool]:
    return sa.or_(*(sa.and_(Reading.metric == str(m), Reading.object_type == t) for m, t in STORED))


def _stored(select: sa.Select[Any], by: list[Any]) -> sa.Select[Any]:
    return (
        select.where(_stored_kinds())
        .with_only_columns(*by, Reading.metric, sa.func.sum(Reading.value), sa.func.max(Reading.at))
        .group_by(*by, Reading.metric)
    )


def _counted(select: sa.Select[Any], by: list[Any], since: datetime) -> sa.Select[Any]:
    return (
        select.join(Server, Server.id == Rollup.server_id)
        .where(
            Rollup.period == str(Period.DAY),
            Rollup.start >= since,
            Rollup.metric.in_([str(m) for m in COUNTERS]),
        )
        .with_only_columns(*by, Rollup.metric, sa.func.sum(Rollup.value), sa.func.max(Server.measured_at))
        .group_by(*by, Rollup.metric)
    )


def _fill(found: dict[int, Totals], rows: list[Any]) -> None:
    """Rows of (account id, metric, value, time), or (metric, value, time) for one account (key 0)."""
    for row in rows:
        account_id, metric, value, at = row if len(row) == 4 else (0, *row)
        totals = found[account_id]
        totals.values[Metric(metric)] = totals.get(Metric(metric)) + int(value)
        totals.saw(at)


def account_totals(actor: Actor, now: datetime | None = None) -> Totals:
    """What scoped() shows the actor, added up (a reseller's own account with its sub-accounts')."""
    since = _first_day(now)
    found: dict[int, Totals] = defaultdict(Totals)
    _fill(found, list(db.session.execute(_stored(scoped(Reading, actor), [])).all()))
    _fill(found, list(db.session.execute(_counted(scoped(Rollup, actor), [], since)).all()))
    return found[0]


@dataclass(frozen=True)
class SubAccountUse:
    account: Account
    totals: Totals


def sub_account_totals(actor: Actor, accounts: list[Account], now: datetime | None = None) -> list[SubAccountUse]:
    """A page of the reseller's sub-accounts, each with its totals: two queries for them all. The
    figures are read through scoped(): an account outside the actor's scope shows nothing measured."""
    since = _first_day(now)
    found: dict[int, Totals] = defaultdict(Totals)
    if accounts:
        ids = [a.id for a in accounts]
        readings = scoped(Reading, actor).where(Reading.account_id.in_(ids))
        _fill(found, list(db.session.execute(_stored(readings, [Reading.account_id])).all()))
        rollups = scoped(Rollup, actor).where(Rollup.account_id.in_(ids))
        _fill(found, list(db.session.execute(_counted(rollups, [Rollup.account_id], since)).all()))
    return [SubAccountUse(account, found[account.id]) for account in accounts]


def mail_use(actor: Actor, mailbox_ids: list[int]) -> dict[int, int]:
    """The stored bytes of a page of mailboxes, in one query (a list's usage column)."""
    if not mailbox_ids:
        return {}
    rows = db.session.execute(
        scoped(Reading, actor)
        .where(
            Reading.object_type == "Mailbox",
            Reading.object_id.in_(mailbox_ids),
            Reading.metric == str(Metric.MAIL_BYTES),
        )
        .with_only_columns(Reading.object_id, sa.func.sum(Reading.value))
        .group_by(Reading.object_id)
    ).all()
    return {object_id: int(value) for object_id, value in rows}


@dataclass(frozen=True)
class Heavy:
    """One account on one server: what it stores there, and what its websites served there in 30 days."""

    account_id: int
    name: str
    mail: int
    disk: int
    databases: int
    served: int

    @property
    def stored(self) -> int:
        return self.mail + self.disk + self.databases


@dataclass(frozen=True)
class ServerUse:
    server: Server
    heaviest: list[Heavy]


def heaviest(actor: Actor, per_server: int = 10, now: datetime | None = None) -> list[ServerUse]:
    """Per server (by name), the accounts storing the most there: for staff (console()), else nothing.
    One ranked query over ix_usage_reading_server, then the few accounts' traffic and names."""
    since = _first_day(now)
    servers = list(db.session.scalars(console(Server, actor).order_by(Server.name)))
    if not servers:
        return []

    def part(metric: Metric, object_type: str) -> Any:
        hit = sa.and_(Reading.metric == str(metric), Reading.object_type == object_type)
        return sa.func.sum(sa.case((hit, Reading.value), else_=0))

    stored = [part(metric, object_type) for metric, object_type in STORED]
    ranked = (
        console(Reading, actor)
        .where(_stored_kinds())
        .with_only_columns(
            Reading.server_id,
            Reading.account_id,
            *(s.label(f"part{i}") for i, s in enumerate(stored)),
            sa.func.row_number()
            .over(partition_by=Reading.server_id, order_by=(sa.func.sum(Reading.value).desc(), Reading.account_id))
            .label("rank"),
        )
        .group_by(Reading.server_id, Reading.account_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked.c.server_id, ranked.c.account_id, ranked.c.part0, ranked.c.part1, ranked.c.part2)
        .where(ranked.c.rank <= per_server)
        .order_by(ranked.c.server_id, ranked.c.rank)
    ).all()
    ids = sorted({row.account_id for row in rows})
    served: dict[tuple[int, int], int] = {}
    names: dict[int, str] = {}
    if ids:
        traffic = db.session.execute(
            console(Rollup, actor)
            .where(
                Rollup.account_id.in_(ids),
                Rollup.period == str(Period.DAY),
                Rollup.start >= since,
                Rollup.metric == str(Metric.BYTES_SERVED),
            )
            .with_only_columns(Rollup.server_id, Rollup.account_id, sa.func.sum(Rollup.value))
            .group_by(Rollup.server_id, Rollup.account_id)
        ).all()
        served = {(server_id, account_id): int(value) for server_id, account_id, value in traffic}
        names = dict(
            db.session.execute(
                console(Account, actor).where(Account.id.in_(ids)).with_only_columns(Account.id, Account.name)
            )
            .tuples()
            .all()
        )
    per: dict[int, list[Heavy]] = defaultdict(list)
    for row in rows:
        per[row.server_id].append(
            Heavy(
                row.account_id,
                names.get(row.account_id, ""),
                int(row.part0),
                int(row.part1),
                int(row.part2),
                served.get((row.server_id, row.account_id), 0),
            )
        )
    return [ServerUse(server, per.get(server.id, [])) for server in servers]
