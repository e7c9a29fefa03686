"""One script per server at a time, across all workers.

The Redis lock has a short TTL that a heartbeat keeps extending while the job
runs: a worker killed mid-script lets the lock lapse within SERVER_LOCK_TTL,
and the sweeper then knows its operations were orphaned.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from redis import Redis
from redis.exceptions import LockError, RedisError

from portal.orchestration.dispatch import queue

_local_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


class ServerBusy(Exception):
    pass


def lock_key(server_id: int) -> str:
    return f"hostdeck:server-lock:{server_id}"


def lock_held(conn: Redis, server_id: int) -> bool:
    return bool(conn.exists(lock_key(server_id)))


@contextmanager
def server_lock(server_id: int, wait: float) -> Iterator[None]:
    q = queue()
    if q is None:  # in-process jobs: one process, so a thread lock will do
        with _local_locks[server_id]:
            yield
        return
    ttl = current_app.config["SERVER_LOCK_TTL"]
    lock = q.connection.lock(lock_key(server_id), timeout=ttl, blocking_timeout=wait, thread_local=False)
    if not lock.acquire():
        raise ServerBusy(f"server {server_id} stayed locked for {wait:.0f} s")
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl / 3):
            try:
                lock.extend(ttl, replace_ttl=True)
            except (LockError, RedisError):
                return

    beat = threading.Thread(target=heartbeat, name=f"lock-{server_id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        try:
            lock.release()
        except (LockError, RedisError):
            pass  # it lapsed; nothing to give back
