"""One script per server at a time, across all workers.

The Redis lock has a short TTL that a heartbeat keeps extending while the job
runs: a worker killed mid-script lets the lock lapse within SERVER_LOCK_TTL,
and the sweeper then knows its operations were orphaned. A job whose lock was
lost anyway (Redis unreachable for a whole TTL) does not record its outcome:
by then the sweeper may have handed its work to another worker.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from portal.orchestration.queue import queue

log = logging.getLogger(__name__)
_local_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


class ServerBusy(Exception):
    pass


class Guard:
    """What the job holding a server lock can ask of it."""

    def __init__(self) -> None:
        self.lost = threading.Event()


def lock_key(server_id: int) -> str:
    return f"hostdeck:server-lock:{server_id}"


def redis_lock(conn: Redis, server_id: int, wait: float | None = None) -> Lock:
    ttl = current_app.config["SERVER_LOCK_TTL"]
    lock: Lock = conn.lock(  # redis-py leaves lock() without a return type
        lock_key(server_id), timeout=ttl, blocking=wait is not None, blocking_timeout=wait, thread_local=False
    )
    return lock


def _heartbeat(lock: Lock, ttl: float, stop: threading.Event, guard: Guard) -> None:
    while not stop.wait(ttl / 3):
        try:
            lock.extend(ttl, replace_ttl=True)
        except LockError:
            guard.lost.set()  # someone else owns it now
            log.error("server lock %s lapsed while its job ran", lock.name)
            return
        except RedisError:
            continue  # try again; the TTL leaves room for a few misses


@contextmanager
def server_lock(server_id: int, wait: float) -> Iterator[Guard]:
    guard = Guard()
    q = queue()
    if q is None:  # in-process jobs: one process, so a thread lock will do
        with _local_locks[server_id]:
            yield guard
        return
    lock = redis_lock(q.connection, server_id, wait)
    if not lock.acquire():
        raise ServerBusy(f"server {server_id} stayed locked for {wait:.0f} s")
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        name=f"lock-{server_id}",
        daemon=True,
        args=(lock, current_app.config["SERVER_LOCK_TTL"], stop, guard),
    )
    beat.start()
    try:
        yield guard
    finally:
        stop.set()
        beat.join()
        with contextlib.suppress(LockError, RedisError):  # it lapsed: nothing to give back
            lock.release()
