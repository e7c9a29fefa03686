"""When rounds run: the sweeper enqueues one per server every USAGE_INTERVAL, on a queue of its own.

The usage queue comes after the apply queue in every worker's list (RQ takes from the first queue
that has work), so a round never makes a change wait behind it. A marker per server keeps at most
one round waiting for each. Without Redis (the demo) rounds run by hand: `flask usage collect`.
"""

from __future__ import annotations

import contextlib
import logging

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue

from portal.extensions import db
from portal.models import utcnow
from portal.orchestration.metering.rounds import collect_server, due_servers
from portal.orchestration.metering.store import prune
from portal.orchestration.queue import queue

log = logging.getLogger(__name__)


def usage_queue() -> Queue | None:
    q = queue()
    if q is None:
        return None
    return Queue(f"{q.name}-usage", connection=q.connection, serializer=q.serializer)


PRUNED = "hostdeck:usage-pruned"  # set while the last prune is recent


def queued_key(server_id: int) -> str:
    return f"hostdeck:usage-queued:{server_id}"


def enqueue_due() -> list[int]:
    """Enqueue a round for every server due one; drop samples past their time, once per USAGE_INTERVAL
    (the sweep runs every few seconds; the keeping times are days)."""
    config = current_app.config
    q = usage_queue()
    if q is None:
        return []
    try:
        if q.connection.set(PRUNED, 1, nx=True, ex=max(1, int(config["USAGE_INTERVAL"]))):
            prune(utcnow(), config["USAGE_RAW_DAYS"], config["USAGE_HOURLY_DAYS"], config["USAGE_DAILY_DAYS"])
    except RedisError as exc:
        log.warning("cannot tell whether usage samples were pruned lately (%s); not now", exc)
    ids = due_servers(config["USAGE_INTERVAL"])
    db.session.commit()
    enqueued = []
    timeout = config["RQ_JOB_TIMEOUT"]
    for server_id in ids:
        try:
            if not q.connection.set(queued_key(server_id), 1, nx=True, ex=int(config["USAGE_INTERVAL"]) + 60):
                continue
            q.enqueue(
                "portal.orchestration.metering.schedule.run_round",
                server_id,
                job_timeout=timeout,
                result_ttl=3600,
                failure_ttl=86400,
            )
            enqueued.append(server_id)
        except RedisError as exc:
            log.warning("server %s: cannot enqueue a usage round (%s)", server_id, exc)
            with contextlib.suppress(RedisError):
                q.connection.delete(queued_key(server_id))
    return enqueued


def run_round(server_id: int) -> dict[str, int | str | None]:
    """The job: the marker goes first, so a round due meanwhile can be enqueued again."""
    q = usage_queue()
    if q is not None:
        with contextlib.suppress(RedisError):
            q.connection.delete(queued_key(server_id))
    return collect_server(server_id)
