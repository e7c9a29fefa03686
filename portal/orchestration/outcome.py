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


def settle(server: Server, entry: BackendLog, changes, *, retryable: bool = True) -> None:
    """Record the outcome, commit, then tell staff if this opened an incident."""
    from portal.orchestration.jobs import MODELS

    ok = entry.state in OK_STATES
    why = None if ok else reason(server, entry)
    delays = retry_delays()
    for change in changes:
        op = change.op
        if ok:
            op.state, op.secret, op.retry_at = OpState.APPLIED, None, None  # keep no copy of the verifier
        elif retryable and entry.state in RETRIED_STATES and op.attempts < len(delays):
            delay = delays[op.attempts]
            op.attempts += 1
            op.state, op.retry_at = OpState.PENDING, utcnow() + timedelta(seconds=delay)
        else:
            op.attempts += entry.state in RETRIED_STATES
            op.state = OpState.FAILED  # the verifier stays until a retry or a newer change
        obj = db.session.get(MODELS[op.object_type], op.object_id)
        if obj is None:
            continue
        if op.state == OpState.PENDING:
            obj.last_error = f"{why} Hostdeck tries again in {delay} s."
        elif still_pending(op):
            continue  # a newer change will set the status
        elif not ok:
            obj.status, obj.last_error = Status.FAILED, why
        elif op.action == "delete":
            db.session.delete(obj)
        else:
            obj.status, obj.last_error = Status.APPLIED, None
    opened = False
    if ok:
        server.incident_log_id = None
    elif server.incident_log_id is None:
        server.incident_log_id, opened = entry.id, True
    db.session.commit()
    if opened:
        alerts.send_incident(server, entry, why, [c.op for c in changes])


def still_pending(op: Operation) -> bool:
    """Is another operation for this object (any server) still to run?"""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Operation).where(
            Operation.object_type == op.object_type, Operation.object_id == op.object_id,
            Operation.id != op.id, Operation.state.in_((OpState.PENDING, OpState.RUNNING)),
        )
    ) > 0
