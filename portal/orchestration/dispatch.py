"""Enqueue one job per server after a successful commit, carrying only ids.

If Redis is down the operations stay pending and the sweeper enqueues them
later. With no REDIS_URL (the demo) the job runs in this process instead.
A marker per server keeps at most one job waiting for each server.
"""

from __future__ import annotations

import contextlib
import logging

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context
from redis.exceptions import RedisError
from sqlalchemy.orm import Session, UOWTransaction

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, utcnow
from portal.orchestration.jobs import apply_server, runnable
from portal.orchestration.locks import redis_lock
from portal.orchestration.metering.rounds import collect_server, due_servers
from portal.orchestration.outcome import forget_old_secrets
from portal.orchestration.queue import queue, queued_key
from portal.orchestration.routes import PLACED, ROUTES
from portal.security.sessions import purge_expired

log = logging.getLogger(__name__)
DIRTY = "hostdeck.dirty_servers"
ACTORS = "hostdeck.actors"
FAILED = "hostdeck.failed"  # operations.failed_here() caches here until the transaction ends
CACHES = (ROUTES, PLACED, FAILED)
INSERTED = "hostdeck.inserted"  # (type name, id) of what this transaction inserted: no operations yet
ActorIds = tuple[int | None, int | None]  # (user id, impersonating user id)
APPLIED_HERE = "hostdeck_applied_here"  # in flask.g: the logs this request's in-process applies wrote


def mark_dirty(server_id: int, actor_ids: ActorIds = (None, None)) -> None:
    db.session.info.setdefault(DIRTY, set()).add(server_id)
    if actor_ids != (None, None):
        db.session.info.setdefault(ACTORS, set()).add(actor_ids)


def dispatch(server_ids: set[int] | list[int], actors: set[ActorIds] | None = None) -> None:
    """One job per server. `actors` ([user id, impersonating user id] pairs) go in the job's meta."""
    q = queue()
    for server_id in sorted(server_ids):
        if q is None:
            # A new app context gives the job its own session, like a worker.
            with current_app.app_context():
                try:
                    summary = apply_server(server_id)
                except Exception:  # the change is committed; the request must not fail now
                    log.exception("server %s: in-process apply failed", server_id)
                    continue
            if has_request_context() and isinstance(summary.get("log"), int):
                g.setdefault(APPLIED_HERE, []).append(summary["log"])
            if current_app.config["USAGE_IN_PROCESS"]:
                _round_if_due(server_id)
            continue
        timeout = current_app.config["RQ_JOB_TIMEOUT"]
        try:
            # A job already waiting for this server will pick these operations up too.
            if not q.connection.set(queued_key(server_id), 1, nx=True, ex=timeout + 60):
                continue
            q.enqueue(
                "portal.orchestration.jobs.apply_server",
                server_id,
                job_timeout=timeout,
                result_ttl=3600,
                failure_ttl=7 * 86400,
                meta={"actors": sorted(map(list, actors or ()), key=str)},
            )
        except RedisError as exc:
            log.warning("server %s: cannot enqueue (%s); the sweeper will retry", server_id, exc)
            with contextlib.suppress(RedisError):
                q.connection.delete(queued_key(server_id))


def _round_if_due(server_id: int) -> None:
    """No worker, no sweeper (the demo): a usage round after an apply, when the server is due one."""
    with current_app.app_context():
        try:
            if server_id in due_servers(current_app.config["USAGE_INTERVAL"]):
                collect_server(server_id)
        except Exception:  # the change is committed; the request must not fail now
            log.exception("server %s: in-process usage round failed", server_id)


def applied_here() -> list[int]:
    """The logs of the scripts this request ran in-process (no Redis: the demo), so its flash can
    say whether they failed (blueprints/common.py: saved)."""
    if not has_request_context():
        return []
    return list(g.get(APPLIED_HERE, []))


def sweep() -> list[int]:
    """Enqueue every server with due work, after taking back what dead workers left."""
    recover_orphans()
    forget_old_secrets()
    purge_expired()
    ids = list(db.session.scalars(sa.select(Operation.server_id).where(runnable(utcnow())).distinct()))
    db.session.commit()
    dispatch(ids)
    return ids


def recover_orphans() -> int:
    """Running operations of a server nobody holds the lock of belong to a dead worker: make them pending."""
    q = queue()
    if q is None:
        return 0
    servers = db.session.scalars(sa.select(Operation.server_id).where(Operation.state == OpState.RUNNING).distinct())
    recovered = 0
    for server_id in list(servers):
        lock = redis_lock(q.connection, server_id)
        try:
            if not lock.acquire():  # a live job holds it: its operations are not orphans
                continue
        except RedisError:
            return recovered
        try:  # while we hold the lock, no job can start on this server or finish there
            running = db.session.scalars(
                sa.select(Operation).where(Operation.server_id == server_id, Operation.state == OpState.RUNNING)
            ).all()
            for op in running:
                op.state, op.retry_at = OpState.PENDING, None
                entry = db.session.get(BackendLog, op.backend_log_id) if op.backend_log_id else None
                if entry is not None and entry.state == LogState.STARTED:
                    entry.state, entry.finished_at = LogState.ERROR, utcnow()
                    entry.error = "The worker stopped during this apply; the change is applied again."
            db.session.commit()
            recovered += len(running)
        finally:
            with contextlib.suppress(RedisError):
                lock.release()
    if recovered:
        log.warning("recovered %d operations from a dead worker", recovered)
    return recovered


def _after_flush(session: Session, context: UOWTransaction) -> None:
    session.info.setdefault(INSERTED, set()).update((type(obj).__name__, obj.id) for obj in session.new)


def _after_commit(session: Session) -> None:
    for cache in (*CACHES, INSERTED):
        session.info.pop(cache, None)
    dirty, actors = session.info.pop(DIRTY, None), session.info.pop(ACTORS, None)
    if dirty:
        dispatch(dirty, actors)


def _after_rollback(session: Session) -> None:
    for cache in (*CACHES, INSERTED):
        session.info.pop(cache, None)
    session.info.pop(DIRTY, None)
    session.info.pop(ACTORS, None)


def init_app(app: Flask) -> None:
    # The sessionmaker is shared by every app, so listen once.
    factory = db.session.session_factory
    if not sa.event.contains(factory, "after_commit", _after_commit):
        sa.event.listen(factory, "after_commit", _after_commit)
        sa.event.listen(factory, "after_rollback", _after_rollback)
        sa.event.listen(factory, "after_flush", _after_flush)
