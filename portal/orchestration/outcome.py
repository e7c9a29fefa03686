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
BUSY = (OpState.PENDING, OpState.RUNNING)


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


def settle(server: Server, entry: BackendLog, changes, refused: dict[int, str], *, retryable: bool = True) -> None:
    """Record the outcome, commit, then tell staff if this opened an incident."""
    from portal.orchestration.jobs import load_objects

    ok = entry.state in OK_STATES
    why = None if ok else reason(server, entry)
    transient = entry.state in RETRIED_STATES
    delays = retry_delays()
    errors: dict[tuple[str, int], str] = {}
    for change in changes:
        op = change.op
        key = (op.object_type, op.object_id)
        if ok and op.id not in refused:
            op.state, op.secret, op.retry_at = OpState.APPLIED, None, None  # keep no copy of the verifier
        elif transient and retryable and op.attempts < len(delays):
            delay = delays[op.attempts]
            op.attempts += 1
            op.state, op.retry_at = OpState.PENDING, utcnow() + timedelta(seconds=delay)
            errors[key] = f"{why} Hostdeck tries again in {delay} s."
        else:
            op.attempts += transient
            op.state = OpState.FAILED  # its verifier stays for a retry, for a while
            errors[key] = f"{server.name} refused the change: {refused[op.id]}" if op.id in refused else why
    objects = load_objects(changes, fresh=True)  # reread: a request may have changed them meanwhile
    db.session.flush()
    for key, latest in latest_per_server(list(objects)).items():
        update_object(objects[key], latest, errors.get(key))
    opened = False
    if ok and not refused:
        server.incident_log_id = None
    elif server.incident_log_id is None:
        server.incident_log_id, opened = entry.id, True
    db.session.commit()
    if opened:
        alerts.send_incident(server, entry, why or next(iter(errors.values())), [c.op for c in changes])


def latest_per_server(keys: list[tuple[str, int]]) -> dict[tuple[str, int], list[Operation]]:
    """For each object, its newest live operation on each (server, backend)."""
    newest: dict[tuple[str, int], dict[tuple[int, str], Operation]] = {key: {} for key in keys}
    if keys:
        rows = db.session.scalars(sa.select(Operation).where(
            sa.tuple_(Operation.object_type, Operation.object_id).in_(keys),
            Operation.state != OpState.SUPERSEDED,
        ).order_by(Operation.id))
        for op in rows:
            newest[(op.object_type, op.object_id)][(op.server_id, op.backend)] = op
    return {key: list(per.values()) for key, per in newest.items()}


def update_object(obj, latest: list[Operation], error: str | None) -> None:
    """The object's status sums up every server: busy, failed anywhere, or applied everywhere."""
    if any(op.state in BUSY for op in latest):
        if error:  # e.g. waiting for a retry: say why
            obj.last_error = error
        return
    if any(op.state == OpState.FAILED for op in latest):
        obj.status = Status.FAILED
        obj.last_error = error or obj.last_error or "A server refused this change."
        return
    if latest and max(latest, key=lambda op: op.id).action == "delete":
        db.session.delete(obj)
    else:
        obj.status, obj.last_error = Status.APPLIED, None


def unstick(log_id: int) -> None:
    """The outcome could not be recorded: put the log's running operations back, to retry later."""
    delay = (retry_delays() or [30])[0]
    db.session.execute(sa.update(Operation).where(
        Operation.backend_log_id == log_id, Operation.state == OpState.RUNNING,
    ).values(state=OpState.PENDING, retry_at=utcnow() + timedelta(seconds=delay), attempts=Operation.attempts + 1))
    db.session.commit()
