"""apply_server(server_id): the job that brings one server to the desired state."""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.logs import SERVER
from portal.models import BackendLog, Database, LogState, Operation, OpState, Server, utcnow
from portal.models.kinds import kind_named
from portal.models.server_settings import settings_problems
from portal.models.status import Provisioned
from portal.orchestration.backends import BACKENDS, get_backend
from portal.orchestration.changes import Change, fold
from portal.orchestration.locks import Guard, server_lock
from portal.orchestration.metrics import APPLY_SECONDS
from portal.orchestration.outcome import forget_old_secrets, settle, unstick
from portal.orchestration.queue import queue, queued_key
from portal.orchestration.script import Script, UnsafeValue
from portal.orchestration.transports import ExecTimeout, Result, TransportError, exec_timeout, transport_for

log = logging.getLogger(__name__)
OUTPUT_LIMIT = 256 * 1024  # per stream kept in a BackendLog
# A backend that refuses one change but applies the others says so on stdout.
REFUSED = re.compile(r"^hostdeck-refused (\d+) (.*)$", re.M)
# A database backend reports the size of a database it applied.
SIZE = re.compile(r"^hostdeck-size (\d+) (\d+)$", re.M)
# The changed objects by (object_type, id).
Objects = dict[tuple[str, int], Provisioned]
# What the job returns (RQ keeps it as JSON): the server, its log, the log's state.
Summary = dict[str, int | str | None]


def runnable(now: datetime) -> sa.ColumnElement[bool]:
    """Which pending operations may go into a script now: those due, unless an older change of the same
    account on that server still waits for its retry. So an account's changes reach a server in the
    order they were made (a site after its user), and no operation runs, or spends an attempt, before
    its own time. The sweeper asks the same question."""
    older = aliased(Operation)
    held = (
        sa.exists()
        .where(
            older.server_id == Operation.server_id,
            older.account_id.is_not_distinct_from(Operation.account_id),
            older.state == OpState.PENDING,
            older.id < Operation.id,
            older.retry_at > now,
        )
        .correlate(Operation)
    )
    return sa.and_(
        Operation.state == OpState.PENDING,
        sa.or_(Operation.retry_at.is_(None), Operation.retry_at <= now),
        ~held,
    )


def pending_ops(server_id: int) -> list[Operation]:
    """The operations of a server that may run now, in the order they were recorded."""
    return list(
        db.session.scalars(
            sa.select(Operation).where(Operation.server_id == server_id, runnable(utcnow())).order_by(Operation.id)
        )
    )


def load_objects(changes: list[Change]) -> Objects:
    """The changed objects, one query per type. The session only holds weak references,
    so the caller keeps this dict for as long as the job needs the objects."""
    ids: dict[str, set[int]] = defaultdict(set)
    for change in changes:
        ids[change.op.object_type].add(change.op.object_id)
    found: Objects = {}
    for object_type, wanted in ids.items():
        model = kind_named(object_type).model
        for obj in db.session.scalars(sa.select(model).where(model.id.in_(wanted))):
            found[(object_type, obj.id)] = obj
    return found


def build(script: Script, server: Server, changes: list[Change], objects: Objects) -> None:
    """Prepare, one fragment per change, commit: per backend, so each reloads once."""
    by_backend: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_backend[change.op.backend].append(change)
    for name in sorted(by_backend, key=list(BACKENDS).index):  # a fixed order: users before their sites
        group = by_backend[name]
        backend = get_backend(name)
        backend.prepare(script, server)
        for change in group:
            op = change.op
            if op.action == "delete":
                backend.delete(script, server, op.payload, ref=op.id)
            elif (obj := objects.get((op.object_type, op.object_id))) is not None:
                backend.save(script, server, obj, change.secret, ref=op.id)
        backend.commit(script, server)


def apply_server(server_id: int) -> Summary:
    server = db.session.get(Server, server_id)
    if server is None:
        return {"server": server_id, "log": None}
    config = current_app.config
    limit = exec_timeout(server, config)
    named = SERVER.set(server.name)
    try:
        with server_lock(server_id, wait=max(10, config["RQ_JOB_TIMEOUT"] - limit - 120)) as guard:
            q = queue()
            if q is not None:  # from here on, a new change needs a new job
                q.connection.delete(queued_key(server_id))
            return _apply(server, guard)
    finally:
        SERVER.reset(named)


def _record_sizes(changes: list[Change], objects: Objects, sizes: dict[str, str]) -> None:
    for change in changes:
        size = sizes.get(str(change.op.id))
        obj = objects.get((change.op.object_type, change.op.object_id))
        if size is not None and isinstance(obj, Database):
            obj.size_bytes, obj.size_at = int(size), utcnow()


def _report(server: Server, changes: list[Change], objects: Objects, stdout: str) -> None:
    """Each backend takes what its fragments printed. One that cannot still lets the outcome be recorded."""
    for name in sorted({c.op.backend for c in changes}, key=list(BACKENDS).index):
        try:
            with db.session.begin_nested():
                get_backend(name).report(server, stdout, objects)
        except Exception:
            log.exception("server %s: the %s backend could not read its script's output", server.name, name)


def clip(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The end of a script's output, as a BackendLog keeps it, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"[{len(text) - limit} characters cut]\n" + text[-limit:]


def _start(server: Server, ops: list[Operation]) -> tuple[BackendLog, list[Change]]:
    job = get_current_job()
    entry = BackendLog(server_id=server.id, state=LogState.STARTED, started_at=utcnow(), job_id=job.id if job else None)
    changes = fold(ops)
    entry.backends = ",".join(sorted({c.op.backend for c in changes}))
    # Who asked: both identities when staff or a reseller acted for the customer.
    entry.actors = sorted({(op.actor_id, op.real_actor_id) for op in ops if op.actor_id is not None}, key=str)
    db.session.add(entry)
    for change in changes:
        for old in change.folded:
            old.state, old.secret, old.backend_log = OpState.SUPERSEDED, None, entry
        op = change.op
        op.state, op.secret, op.backend_log = OpState.RUNNING, change.secret, entry
        op.sets_password = op.sets_password or change.secret is not None
    op_ids = [op.id for op in ops]
    db.session.commit()
    # The commit expired everything: reload the operations in one query, not one each.
    db.session.scalars(sa.select(Operation).where(Operation.id.in_(op_ids))).all()
    return entry, changes


def _apply(server: Server, guard: Guard) -> Summary:
    # Here too, not only in the sweep: the demo has no sweeper.
    if forget_old_secrets():
        db.session.commit()
    ops = pending_ops(server.id)
    if not ops:
        return {"server": server.id, "log": None}
    entry, changes = _start(server, ops)
    began = time.monotonic()
    script = Script()
    result: Result | None = None
    retryable = True
    objects: Objects = {}
    try:
        problems = settings_problems(server.settings)
        if problems:  # nothing runs with a setting we do not know, or one that could inject
            raise UnsafeValue(f"the server's settings: {' '.join(problems)}")
        objects = load_objects(changes)
        build(script, server, changes, objects)
        entry.script = script.redacted()
        result = transport_for(server, current_app.config).run(script.text, exec_timeout(server, current_app.config))
    except UnsafeValue as exc:
        entry.state, entry.error = LogState.FAILURE, f"refused to build the script: {exc}"
    except TransportError as exc:
        entry.state, entry.error, retryable = LogState.ERROR, str(exc), exc.retryable
    except ExecTimeout as exc:
        entry.state, entry.error = LogState.TIMEOUT, str(exc)
    except Exception as exc:  # never leave operations stuck in "running"
        log.exception("server %s: apply failed unexpectedly", server.name)
        entry.state, entry.error = LogState.ERROR, f"unexpected {type(exc).__name__}: {script.redact(str(exc))}"
    refused: dict[int, str] = {}
    if result is not None:
        entry.exit_code = result.exit_code
        entry.stdout, entry.stderr = clip(script.redact(result.stdout)), clip(script.redact(result.stderr))
        refused = {int(ref): script.redact(why) for ref, why in REFUSED.findall(result.stdout)}
        _record_sizes(changes, objects, dict(SIZE.findall(result.stdout)))
        if result.exit_code == 0:
            _report(server, changes, objects, result.stdout)
        if result.exit_code != 0:  # None too: killed without an exit status
            entry.state = LogState.FAILURE
        else:
            entry.state = LogState.WARNING if result.stderr.strip() else LogState.SUCCESS
    entry.finished_at = utcnow()
    for backend in {c.op.backend for c in changes}:
        APPLY_SECONDS.labels(backend=backend).observe(time.monotonic() - began)
    if guard.lost.is_set():
        db.session.rollback()  # the sweeper has taken this work back; its redo decides
        return {"server": server.id, "log": entry.id, "state": "lock lost"}
    try:
        settle(server, entry, changes, refused, retryable=retryable)
    except Exception:
        log.exception("server %s: could not record the outcome of log %s", server.name, entry.id)
        db.session.rollback()
        unstick(entry.id)
        raise
    log.info(
        "server %s: log %s %s (%d changes, job %s)", server.name, entry.id, entry.state, len(changes), entry.job_id
    )
    return {"server": server.id, "log": entry.id, "state": str(entry.state)}
