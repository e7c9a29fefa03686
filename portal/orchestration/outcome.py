"""After a script: operations and objects take their new state; retries and incidents."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Server, Status, utcnow
from portal.orchestration import alerts

OK_STATES = (LogState.SUCCESS, LogState.WARNING)
RETRIED_STATES = (LogState.ERROR, LogState.TIMEOUT)


def reason(server: Server, entry: BackendLog) -> str:
    """What went wrong, in plain words for the customer."""
    if entry.state == LogState.ERROR:
        return f"The change could not be sent to {server.name}: {entry.error}"
    if entry.state == LogState.TIMEOUT:
        return f"{server.name} did not finish in time: {entry.error}"
    lines = [line for line in (entry.stderr or "").splitlines() if line.strip()]
    detail = lines[-1] if lines else (entry.error or f"exit code {entry.exit_code}")
    return f"{server.name} refused the change: {detail}"


def retry_delays() -> list[int]:
    return [int(d) for d in str(current_app.config["RETRY_DELAYS"]).split(",") if d.strip()]


def settle(server: Server, entry: BackendLog, changes, objects: dict, *, retryable: bool = True) -> None:
    """Record the outcome, commit, then tell staff if this opened an incident."""
    ok = entry.state in OK_STATES
    why = None if ok else reason(server, entry)
    delays = retry_delays()
    busy = newer_work([c.op.id for c in changes])
    transient = entry.state in RETRIED_STATES
    with db.session.no_autoflush:  # flush once at the commit, not before every lookup
        for change in changes:
            obj = objects.get((change.op.object_type, change.op.object_id))
            _settle_one(change.op, obj, ok, why, transient, transient and retryable, delays, busy)
    opened = False
    if ok:
        server.incident_log_id = None
    elif server.incident_log_id is None:
        server.incident_log_id, opened = entry.id, True
    db.session.commit()
    if opened:
        alerts.send_incident(server, entry, why, [c.op for c in changes])


def newer_work(op_ids: list[int]) -> set[tuple[str, int]]:
    """Objects with other operations (any server) still to run, in one query."""
    return set(db.session.execute(
        sa.select(Operation.object_type, Operation.object_id).where(
            Operation.id.not_in(op_ids), Operation.state.in_((OpState.PENDING, OpState.RUNNING)),
        ).distinct()
    ).tuples())


def _settle_one(op: Operation, obj, ok: bool, why: str | None, transient: bool, retry: bool, delays: list[int],
                busy: set) -> None:
    if ok:
        op.state, op.secret, op.retry_at = OpState.APPLIED, None, None  # keep no copy of the verifier
    elif retry and op.attempts < len(delays):
        delay = delays[op.attempts]
        op.attempts += 1
        op.state, op.retry_at = OpState.PENDING, utcnow() + timedelta(seconds=delay)
    else:
        op.attempts += transient
        op.state = OpState.FAILED  # the verifier stays until a retry or a newer change
    if obj is None:
        return
    if op.state == OpState.PENDING:
        obj.last_error = f"{why} Hostdeck tries again in {delay} s."
    elif (op.object_type, op.object_id) in busy:
        return  # a newer change will set the status
    elif not ok:
        obj.status, obj.last_error = Status.FAILED, why
    elif op.action == "delete":
        db.session.delete(obj)
    else:
        obj.status, obj.last_error = Status.APPLIED, None
