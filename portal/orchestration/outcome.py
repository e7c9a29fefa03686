"""After a script: operations and objects take their new state; retries and incidents."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Server, Status, usage, utcnow
from portal.models.kinds import COUNTED, deletion_rank, kind_named
from portal.orchestration import alerts
from portal.orchestration.changes import Change
from portal.orchestration.unrouted import purge_unrouted_domains

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
    status = "no exit status (killed)" if entry.exit_code is None else f"exit code {entry.exit_code}"
    detail = lines[-1] if lines else (entry.error or status)
    return f"{server.name} refused the change: {detail}"


def retry_delays() -> list[int]:
    return [int(d) for d in str(current_app.config["RETRY_DELAYS"]).split(",") if d.strip()]


def settle(
    server: Server, entry: BackendLog, changes: list[Change], refused: dict[int, str], *, retryable: bool = True
) -> None:
    """Record the outcome, commit, then tell staff if this opened an incident."""
    # Deleted rows move their accounts' usage counters: those account rows are locked first, in the
    # order requests lock them, before any operation or service row (usage.lock).
    usage.lock(db.session, {c.op.account_id for c in changes if c.op.action == "delete" and c.op.account_id})
    ok = entry.state in OK_STATES
    why = "" if ok else reason(server, entry)
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
    db.session.flush()
    update_objects({(c.op.object_type, c.op.object_id) for c in changes}, errors)
    purge_unrouted_domains()
    opened = False
    if ok and not refused:
        server.incident_log_id = None
    elif server.incident_log_id is None:
        server.incident_log_id, opened = entry.id, True
    db.session.commit()
    if opened:
        why = why or next(iter(errors.values()), f"{server.name} refused a change.")
        alerts.send_incident(server, entry, why, [c.op for c in changes])


def update_objects(keys: set[tuple[str, int]], errors: dict[tuple[str, int], str]) -> None:
    """Each object's status sums up every server: busy, failed anywhere, or applied everywhere.

    Decided from the operations alone, with the rows locked (PostgreSQL), so a request
    that changed an object meanwhile is seen, never overwritten.
    """
    by_type: dict[str, list[int]] = defaultdict(list)
    for object_type, object_id in keys:
        by_type[object_type].append(object_id)
    # Rows that others point at go last: sites before their apps, apps before their users, ...
    for object_type in sorted(by_type, key=deletion_rank):
        ids = by_type[object_type]
        kind = kind_named(object_type)
        model = kind.model
        db.session.execute(sa.select(model.id).where(model.id.in_(ids)).with_for_update()).all()
        latest = latest_per_server(object_type, ids)
        applied, gone, failed, waiting = [], [], defaultdict(list), defaultdict(list)
        for object_id in ids:
            ops = latest.get(object_id, [])
            error = errors.get((object_type, object_id))
            if any(state in BUSY for _, state, _ in ops):
                if error:  # e.g. waiting for a retry: say why
                    waiting[error].append(object_id)
            elif any(state == OpState.FAILED for _, state, _ in ops):
                failed[error or "A server refused this change."].append(object_id)
            elif ops and max(ops)[2] == "delete":
                gone.append(object_id)
            else:
                applied.append(object_id)
        if applied:
            db.session.execute(
                sa.update(model)
                .where(model.id.in_(applied))
                .values(status=Status.APPLIED, last_error=None, updated_at=utcnow())
            )
        for error, object_ids in failed.items():
            db.session.execute(
                sa.update(model)
                .where(model.id.in_(object_ids))
                .values(status=Status.FAILED, last_error=error, updated_at=utcnow())
            )
        for error, object_ids in waiting.items():
            db.session.execute(
                sa.update(model).where(model.id.in_(object_ids)).values(last_error=error, updated_at=utcnow())
            )
        if gone:
            if kind in COUNTED:
                usage.delete_rows(db.session, model, gone)
            else:
                db.session.execute(sa.delete(model).where(model.id.in_(gone)))


def latest_per_server(object_type: str, ids: list[int]) -> dict[int, list[tuple[int, OpState, str]]]:
    """For each object, (id, state, action) of its newest live operation on each (server, backend)."""
    newest: dict[int, dict[tuple[int, str], tuple[int, OpState, str]]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(
            Operation.object_id,
            Operation.server_id,
            Operation.backend,
            Operation.id,
            Operation.state,
            Operation.action,
        )
        .where(
            Operation.object_type == object_type,
            Operation.object_id.in_(ids),
            Operation.state != OpState.SUPERSEDED,
        )
        .order_by(Operation.id)
    )
    for object_id, server_id, backend, op_id, state, action in rows:
        newest[object_id][(server_id, backend)] = (op_id, state, action)
    return {object_id: list(per.values()) for object_id, per in newest.items()}


def unstick(log_id: int) -> None:
    """The outcome could not be recorded: put the log's running operations back, to retry later."""
    delay = (retry_delays() or [30])[0]
    db.session.execute(
        sa.update(Operation)
        .where(
            Operation.backend_log_id == log_id,
            Operation.state == OpState.RUNNING,
        )
        .values(state=OpState.PENDING, retry_at=utcnow() + timedelta(seconds=delay), attempts=Operation.attempts + 1)
    )
    db.session.commit()
