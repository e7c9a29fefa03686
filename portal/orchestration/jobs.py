"""apply_server(server_id): the job that brings one server to the desired state."""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job

from portal.extensions import db
from portal.models import (
    BackendLog,
    LogState,
    Mailbox,
    Operation,
    OpState,
    Server,
    Status,
    utcnow,
)
from portal.orchestration.backends import get_backend
from portal.orchestration.dispatch import queue
from portal.orchestration.script import Script, UnsafeValue
from portal.orchestration.transports import ExecTimeout, TransportError, transport_for

log = logging.getLogger(__name__)
MODELS = {"Mailbox": Mailbox}
OK_STATES = (LogState.SUCCESS, LogState.WARNING)
_local_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


@dataclass
class Change:
    """The latest desired state of one object on one backend."""

    op: Operation  # the newest operation; it carries the outcome
    secret: str | None = None
    folded: list[Operation] = field(default_factory=list)


def fold(ops: list[Operation]) -> list[Change]:
    """Last desired state wins; a delete cancels pending saves; a new password survives a later save."""
    changes: dict[tuple, Change] = {}
    for op in ops:  # ordered by id
        key = (op.backend, op.object_type, op.object_id)
        previous = changes.get(key)
        change = Change(op=op, secret=op.secret)
        if previous is not None:
            change.folded = previous.folded + [previous.op]
            if op.action == "save" and op.secret is None and previous.op.action == "save":
                change.secret = previous.secret
        changes[key] = change
    return sorted(changes.values(), key=lambda c: c.op.id)


@contextmanager
def server_lock(server_id: int) -> Iterator[None]:
    """One script per server at a time, across all workers."""
    q = queue()
    if q is None:
        with _local_locks[server_id]:
            yield
        return
    wait = current_app.config["JOB_TIMEOUT"] + 60
    lock = q.connection.lock(f"hostdeck:server-lock:{server_id}", timeout=wait, blocking_timeout=wait)
    if not lock.acquire():
        raise RuntimeError(f"server {server_id} stayed locked for {wait} s")
    try:
        yield
    finally:
        lock.release()


def apply_server(server_id: int) -> dict:
    with server_lock(server_id):
        return _apply(server_id)


def _build(script: Script, server: Server, changes: list[Change]) -> None:
    by_backend: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_backend[change.op.backend].append(change)
    for name, group in by_backend.items():
        backend = get_backend(name)
        backend.prepare(script, server)
        for change in group:
            op = change.op
            if op.action == "delete":
                backend.delete(script, server, op.payload)
            else:
                obj = db.session.get(MODELS[op.object_type], op.object_id)
                if obj is not None:
                    backend.save(script, server, obj, change.secret)
        backend.commit(script, server)


def _apply(server_id: int) -> dict:
    server = db.session.get(Server, server_id)
    ops = db.session.scalars(
        sa.select(Operation).where(Operation.server_id == server_id, Operation.state == OpState.PENDING)
        .order_by(Operation.id)
    ).all()
    if server is None or not ops:
        return {"server": server_id, "log": None}
    job = get_current_job()
    entry = BackendLog(server_id=server_id, state=LogState.STARTED, started_at=utcnow(),
                       job_id=job.id if job else None)
    changes = fold(ops)
    entry.backends = ",".join(sorted({c.op.backend for c in changes}))
    db.session.add(entry)
    for change in changes:
        for old in change.folded:
            old.state, old.secret, old.backend_log = OpState.SUPERSEDED, None, entry
        change.op.state, change.op.secret, change.op.backend_log = OpState.RUNNING, change.secret, entry
    db.session.commit()

    script = Script()
    result = None
    try:
        _build(script, server, changes)
        entry.script = script.redacted()
        result = transport_for(server, current_app.config).run(script.text, current_app.config["JOB_TIMEOUT"])
    except UnsafeValue as exc:
        entry.state, entry.error = LogState.FAILURE, f"refused to build the script: {exc}"
    except TransportError as exc:
        entry.state, entry.error = LogState.ERROR, str(exc)
    except ExecTimeout as exc:
        entry.state, entry.error = LogState.TIMEOUT, str(exc)
    except Exception as exc:  # never leave operations stuck in "running"
        log.exception("server %s: apply failed unexpectedly", server.name)
        entry.state, entry.error = LogState.ERROR, f"unexpected {type(exc).__name__}: {script.redact(str(exc))}"
    if result is not None:
        entry.exit_code = result.exit_code
        entry.stdout, entry.stderr = script.redact(result.stdout), script.redact(result.stderr)
        if result.exit_code != 0:
            entry.state = LogState.FAILURE
        else:
            entry.state = LogState.WARNING if result.stderr.strip() else LogState.SUCCESS
    entry.finished_at = utcnow()
    _finish(server, entry, changes)
    db.session.commit()
    log.info("server %s: log %s %s (%d changes)", server.name, entry.id, entry.state, len(changes))
    return {"server": server_id, "log": entry.id, "state": str(entry.state)}


def _reason(server: Server, entry: BackendLog) -> str:
    if entry.state == LogState.ERROR:
        return f"The change could not be sent to {server.name}: {entry.error}"
    if entry.state == LogState.TIMEOUT:
        return f"{server.name} did not finish in time."
    lines = [line for line in (entry.stderr or "").splitlines() if line.strip()]
    detail = lines[-1] if lines else (entry.error or f"exit code {entry.exit_code}")
    return f"{server.name} refused the change: {detail}"


def _finish(server: Server, entry: BackendLog, changes: list[Change]) -> None:
    ok = entry.state in OK_STATES
    for change in changes:
        op = change.op
        op.state = OpState.APPLIED if ok else OpState.FAILED
        if ok:
            op.secret = None  # the verifier is on the server now; keep no copy
        obj = db.session.get(MODELS[op.object_type], op.object_id)
        if obj is None or _still_pending(op):
            continue  # a newer change will set the status
        if not ok:
            obj.status, obj.last_error = Status.FAILED, _reason(server, entry)
        elif op.action == "delete":
            db.session.delete(obj)
        else:
            obj.status, obj.last_error = Status.APPLIED, None


def _still_pending(op: Operation) -> bool:
    """Is another operation for this object (any server) still to run?"""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Operation).where(
            Operation.object_type == op.object_type, Operation.object_id == op.object_id,
            Operation.id != op.id, Operation.state.in_((OpState.PENDING, OpState.RUNNING)),
        )
    ) > 0
