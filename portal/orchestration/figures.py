"""How the work stands, read when asked (a scrape of /metrics, `flask orchestration status`): operations
by state, jobs waiting in the queue, the oldest pending operation's age, open incidents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from portal.extensions import db
from portal.models import Operation, OpState, Server, utcnow
from portal.orchestration.queue import queue


@dataclass(frozen=True)
class Figures:
    operations: dict[str, int]  # every state, 0 where there is none
    queued: int | None  # jobs waiting in RQ_QUEUE; None: no Redis configured, or unreachable
    queue_error: str | None  # why Redis could not be read
    oldest_pending_s: float  # 0 when nothing is pending
    open_incidents: int


def read() -> Figures:
    counts = dict.fromkeys((str(state) for state in OpState), 0)
    for state, n in db.session.execute(sa.select(Operation.state, sa.func.count()).group_by(Operation.state)):
        counts[str(state)] = n
    oldest = db.session.scalar(sa.select(sa.func.min(Operation.created_at)).where(Operation.state == OpState.PENDING))
    incidents = db.session.scalar(sa.select(sa.func.count()).where(Server.incident_log_id.is_not(None))) or 0
    queued, error = _queued()
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
    return Figures(counts, queued, error, age, incidents)


def _queued() -> tuple[int | None, str | None]:
    q = queue()
    if q is None:
        return None, None
    try:
        return q.count, None
    except RedisError as exc:
        return None, f"Redis unreachable: {exc}"


class FiguresCollector(Collector):
    """The figures as gauges, for one scrape; None: the database could not be read."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        f = self.figures
        yield GaugeMetricFamily(
            "hostdeck_figures_readable", "1 when the database answered this scrape, else 0.", value=int(f is not None)
        )
        if f is None:
            return
        ops = GaugeMetricFamily("hostdeck_operations", "Operations by state.", labels=["state"])
        for state, n in f.operations.items():
            ops.add_metric([state], n)
        yield ops
        if f.queued is not None:
            yield GaugeMetricFamily("hostdeck_queue_jobs", "Jobs waiting in the RQ queue.", value=f.queued)
        yield GaugeMetricFamily(
            "hostdeck_oldest_pending_operation_seconds",
            "Age of the oldest pending operation (0: none pending).",
            value=f.oldest_pending_s,
        )
        yield GaugeMetricFamily(
            "hostdeck_open_incidents", "Servers with an open incident (staff were mailed).", value=f.open_incidents
        )
