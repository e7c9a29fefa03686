"""After a script: operations and objects take their new state; retries and incidents."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import BackendLog, LogState, Operation, OpState, Server, Status, revisions, usage, utcnow
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


def retry_later(op: Operation, delays: list[int]) -> int | None:
    """Count a failed attempt of op. It comes back after the next of its own delays; once it has used
    every one, it has failed (None)."""
    op.attempts += 1
    if op.attempts <= len(delays):
        delay = delays[op.attempts - 1]
        op.state, op.retry_at = OpState.PENDING, utcnow() + timedelta(seconds=delay)
        return delay
    op.state, op.retry_at = OpState.FAILED, None
    return None


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
    # Only the operations in this script take its outcome: no other one's attempts or next try move.
    for change in changes:
        op = change.op
        key = (op.object_type, op.object_id)
        if ok and op.id not in refused:
            op.state, op.secret, op.retry_at = OpState.APPLIED, None, None  # keep no copy of the verifier
        elif transient and retryable:
            delay = retry_later(op, delays)  # failed once it has used every delay
            errors[key] = why if delay is None else f"{why} Hostdeck tries again in {delay} s."
        else:
            op.attempts += transient
            op.state, op.retry_at = OpState.FAILED, None
            errors[key] = f"{server.name} refused the change: {refused[op.id]}" if op.id in refused else why
        # A failed operation keeps its verifier for a retry, for a while (forget_old_secrets).
    hand_over(server.id, [c.op for c in changes if c.op.state != OpState.APPLIED])
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
        alerts.tell_accounts([c.op for c in changes])


def hand_over(server_id: int, unsettled: list[Operation]) -> None:
    """Changes to the same objects recorded while the script ran (they could not take over an operation
    that was running) take over from those that did not get through.

    A newer password makes an older verifier useless: it is wiped at once. A failed operation is
    superseded by the newest pending one, which delivers its password if it brings none of its own.
    One waiting for a retry stays: it runs with the newer ones, folded into them, at its own time.
    """
    if not unsettled:
        return
    newer: dict[tuple[str, str, int], list[Operation]] = defaultdict(list)
    for op in db.session.scalars(
        sa.select(Operation)
        .where(
            Operation.server_id == server_id,
            Operation.object_id.in_({op.object_id for op in unsettled}),
            Operation.id > min(op.id for op in unsettled),
            Operation.state != OpState.SUPERSEDED,
        )
        .order_by(Operation.id)
    ):
        newer[(op.backend, op.object_type, op.object_id)].append(op)
    for op in unsettled:
        later = [o for o in newer[(op.backend, op.object_type, op.object_id)] if o.id > op.id]
        if any(o.sets_password for o in later):
            op.secret = None
        waiting = [o for o in later if o.state == OpState.PENDING]
        if op.state != OpState.FAILED or not waiting:
            continue
        carrier = waiting[-1]
        if op.secret is not None and carrier.action == "save":
            carrier.secret, carrier.sets_password = op.secret, True
        op.state, op.secret = OpState.SUPERSEDED, None


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
        owners = db.session.scalars(sa.select(model.account_id).where(model.id.in_(ids)).with_for_update()).all()
        revisions.touch(db.session, owners)  # the pages kept of these accounts show the new status
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
                revisions.named(
                    sa.update(model)
                    .where(model.id.in_(applied))
                    .values(status=Status.APPLIED, last_error=None, updated_at=utcnow())
                )
            )
        for error, object_ids in failed.items():
            db.session.execute(
                revisions.named(
                    sa.update(model)
                    .where(model.id.in_(object_ids))
                    .values(status=Status.FAILED, last_error=error, updated_at=utcnow())
                )
            )
        for error, object_ids in waiting.items():
            db.session.execute(
                revisions.named(
                    sa.update(model).where(model.id.in_(object_ids)).values(last_error=error, updated_at=utcnow())
                )
            )
        if gone:
            if kind in COUNTED:
                usage.delete_rows(db.session, model, gone)
            else:
                db.session.execute(revisions.named(sa.delete(model).where(model.id.in_(gone))))


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
    """The outcome could not be recorded: the log's running operations count a failed attempt, as
    after an ERROR, and come back after their next delay (or fail, once they have used every one)."""
    delays = retry_delays()
    errors: dict[tuple[str, int], str] = {}
    running = sa.select(Operation).where(Operation.backend_log_id == log_id, Operation.state == OpState.RUNNING)
    for op in db.session.scalars(running).all():
        delay = retry_later(op, delays)
        errors[(op.object_type, op.object_id)] = "Hostdeck could not record what the server did with this change." + (
            "" if delay is None else f" It tries again in {delay} s."
        )
    db.session.flush()
    update_objects(set(errors), errors)
    db.session.commit()


def forget_old_secrets() -> int:
    """A failed operation keeps its verifier for a retry, but for FAILED_SECRET_DAYS at most. The
    object's page then asks for a new password (operations.password_lost)."""
    cutoff = utcnow() - timedelta(days=current_app.config["FAILED_SECRET_DAYS"])
    forgetting = (
        sa.update(Operation)
        .where(
            Operation.state == OpState.FAILED,
            Operation.secret.is_not(None),
            Operation.updated_at < cutoff,
        )
        .values(secret=None)
        .returning(Operation.account_id)
    )
    owners = db.session.scalars(revisions.named(forgetting)).all()
    revisions.touch(db.session, owners)  # their pages now ask for a new password
    return len(owners)
