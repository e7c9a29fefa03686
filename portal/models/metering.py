"""What the servers measured: disk, mail and traffic per object, kept as samples and rolled up.

A collection round (orchestration/metering/) reads one server and hands back `Measured` values:
an object (kind name and id), a metric, a value and the UTC time it stands for. They land here:

- `Sample`: every value as measured, kept for `USAGE_RAW_DAYS` (the sweep drops older ones).
- `Rollup`: per hour and per day. A *gauge* (a size: mail, disk, a database) keeps the period's
  highest value; a *counter* (requests, bytes served, mail in and out) adds up what each round read.
  Hours are kept for `USAGE_HOURLY_DAYS`, days for `USAGE_DAILY_DAYS`. A month's chart reads 30 rows
  of one index range.
- `Reading`: the newest value of each gauge per server, so lists and the dashboard read one row per
  object, not a scan of samples.
- `Crossing`: the thresholds of a quota or limit an account has crossed and been told about, so a
  warning goes out once per crossing, not once per round.

Units are bytes and counts: the pages turn them into words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class Metric(enum.StrEnum):
    MAIL_BYTES = "mail_bytes"  # a mailbox's messages
    MAIL_MESSAGES = "mail_messages"
    DISK_BYTES = "disk_bytes"  # a system user's home, a web app's folder
    DATABASE_BYTES = "database_bytes"
    REQUESTS = "requests"  # a website's, from its access log
    BYTES_SERVED = "bytes_served"
    MAIL_RECEIVED = "mail_received"  # a domain's messages delivered, from the Postfix log
    MAIL_SENT = "mail_sent"  # a domain's messages sent by its logged-in senders


MIB = 1 << 20  # a quota's MB, in the bytes measured
# Counters add up; everything else is a gauge.
COUNTERS = frozenset({Metric.REQUESTS, Metric.BYTES_SERVED, Metric.MAIL_RECEIVED, Metric.MAIL_SENT})


class Period(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True)
class Measured:
    """One value a round read: `at` is UTC (a counter's: the start of the hour its lines fell in)."""

    object_type: str
    object_id: int
    account_id: int
    metric: Metric
    value: int
    at: datetime


class Sample(Base):
    __tablename__ = "usage_sample"
    __table_args__ = (
        sa.Index("ix_usage_sample_object", "object_type", "object_id", "metric", "at"),
        # Samples arrive in time order: a BRIN index finds a day's rows (and the old ones to drop) in
        # a few pages; on other databases a plain index.
        sa.Index("ix_usage_sample_at", "at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int] = mapped_column()
    metric: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rollup(Base):
    __tablename__ = "usage_rollup"
    __table_args__ = (
        # An account's totals over time (the dashboard, a reseller's sub-accounts, staff's heaviest).
        sa.Index("ix_usage_rollup_account", "account_id", "period", "start"),
    )

    # The key leads with the object: one object's chart is one range of it.
    object_type: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    object_id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(sa.BigInteger)


class Reading(Base):
    __tablename__ = "usage_reading"
    __table_args__ = (
        sa.Index("ix_usage_reading_account", "account_id", "metric"),
        # Staff's heaviest accounts per server (services/usage.py): every column that ranking reads.
        sa.Index("ix_usage_reading_server", "server_id", "account_id", "metric", "object_type", "value"),
    )

    object_type: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    object_id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    server_id: Mapped[int] = mapped_column(sa.ForeignKey("server.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Crossing(Base):
    """A threshold (80 or 100 percent) of one quota or limit that the account was warned about.
    `subject` is "Mailbox:12:mail_bytes" for an object's quota, "limit:mailboxes" for a limit. The row
    goes once use is back under the threshold, so the next crossing warns again."""

    __tablename__ = "usage_crossing"

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    level: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
