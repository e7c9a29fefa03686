"""collect_server(server_id): one usage round on one server.

Its own job kind beside `apply_server`. It never takes the server's apply lock, so an apply never
waits for a round; and it yields: a server with applies due gets no round now (the next sweep tries
again), so a round never holds a change back nor reads a half-applied state. Two rounds of one
server never overlap: the script holds a lock file of its own on the server (`flock -n`), and a
second one exits at once with nothing read. It uses the same script builder, quoting, transport and
BackendLog as applies (backends "usage").
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job

from portal.extensions import db
from portal.logs import SERVER
from portal.models import BackendLog, LogState, Operation, Route, Server, utcnow
from portal.models.server_settings import settings_problems
from portal.orchestration.jobs import clip, runnable
from portal.orchestration.metering import warnings
from portal.orchestration.metering.base import Collector, Target, parse
from portal.orchestration.metering.collectors import COLLECTORS
from portal.orchestration.metering.store import forget_gone, store
from portal.orchestration.script import Script, UnsafeValue, q
from portal.orchestration.transports import ExecTimeout, TransportError, exec_timeout, transport_for

log = logging.getLogger(__name__)
Summary = dict[str, int | str | None]
BUSY = 75  # the script's exit when another round holds the server's lock: nothing read, nothing wrong
OUTPUT_LIMIT = 64 * 1024  # of a round's output kept in its BackendLog: the values are in the tables
# The round's own lock on the server: a second round at the same time reads nothing.
LOCK = """\
install -d -m 0700 {state}
exec 8>>{state}/.round.lock
flock -n 8 || {{ echo "another usage round is running on this server" >&2; exit {busy}; }}
"""


def collectors_for(server: Server) -> list[Collector]:
    routed = set(db.session.scalars(sa.select(Route.backend).where(Route.server_id == server.id)))
    return [c for c in COLLECTORS if c.backend in routed]


def applies_due(server_id: int) -> bool:
    due = sa.select(Operation.id).where(Operation.server_id == server_id, runnable(utcnow())).limit(1)
    return db.session.scalar(due) is not None


def build(server: Server, collectors: list[Collector]) -> tuple[Script, dict[str, list[Target]]]:
    script = Script()
    script.add(LOCK.format(state=q(server.setting("usage_state_dir", "/var/lib/hostdeck/usage")), busy=BUSY))
    targets: dict[str, list[Target]] = {}
    for collector in collectors:
        targets[collector.name] = found = collector.targets(server)
        collector.measure(script, server, found)
    return script, targets


def collect_server(server_id: int, *, force: bool = False) -> Summary:
    """`force`: run even with applies due (`flask usage collect` asks for it by hand)."""
    server = db.session.get(Server, server_id)
    if server is None:
        return {"server": server_id, "log": None, "state": "gone"}
    named = SERVER.set(server.name)
    try:
        return _collect(server, force)
    finally:
        SERVER.reset(named)


def _collect(server: Server, force: bool) -> Summary:
    if not force and applies_due(server.id):
        return {"server": server.id, "log": None, "state": "deferred"}
    collectors = collectors_for(server)
    if not collectors:
        server.measured_at = utcnow()
        db.session.commit()
        return {"server": server.id, "log": None, "state": "nothing to measure"}
    job = get_current_job()
    now = utcnow()
    entry = BackendLog(
        server_id=server.id,
        backends="usage:" + ",".join(c.name for c in collectors),
        state=LogState.STARTED,
        started_at=now,
        job_id=job.id if job else None,
    )
    db.session.add(entry)
    began = time.monotonic()
    measured_count = 0
    read = False
    try:
        problems = settings_problems(server.settings)
        if problems:
            raise UnsafeValue(f"the server's settings: {' '.join(problems)}")
        script, targets = build(server, collectors)
        entry.script = script.redacted()
        config = current_app.config
        result = transport_for(server, config).run(script.text, exec_timeout(server, config))
    except UnsafeValue as exc:
        entry.state, entry.error = LogState.FAILURE, f"refused to build the script: {exc}"
        result = None
    except TransportError as exc:
        entry.state, entry.error = LogState.ERROR, str(exc)
        result = None
    except ExecTimeout as exc:
        entry.state, entry.error = LogState.TIMEOUT, str(exc)
        result = None
    if result is not None:
        entry.exit_code = result.exit_code
        entry.stdout, entry.stderr = clip(result.stdout, OUTPUT_LIMIT), clip(result.stderr, OUTPUT_LIMIT)
        if result.exit_code == 0:
            entry.state = LogState.WARNING if result.stderr.strip() else LogState.SUCCESS
            lines = parse(result.stdout)
            measured = []
            for collector in collectors:
                measured += collector.read(server, lines.get(collector.name, []), targets[collector.name], now)
            store(server.id, measured)
            seen: dict[str, set[int]] = {}
            for target in (t for found in targets.values() for t in found):
                seen.setdefault(target.object_type, set()).add(target.object_id)
            forget_gone(server.id, seen, {t for c in collectors for t in c.object_types})
            measured_count, read = len(measured), True
        elif result.exit_code == BUSY:
            entry.state, entry.error = LogState.WARNING, "another usage round was running on this server"
        else:
            entry.state = LogState.FAILURE
    entry.finished_at = utcnow()
    # A failed round waits for the next interval too, rather than running again at every sweep.
    server.measured_at = now
    db.session.commit()
    if read:
        warnings.after_round(server.id)
    log.info(
        "server %s: usage round %s %s (%d values, %.1f s)",
        server.name,
        entry.id,
        entry.state,
        measured_count,
        time.monotonic() - began,
    )
    return {"server": server.id, "log": entry.id, "state": str(entry.state), "values": measured_count}


def due_servers(interval_s: float) -> list[int]:
    """Servers whose last round ended longer ago than the interval; a new server's first round comes
    an interval after it was added (its services have little to measure before)."""
    cutoff = utcnow() - timedelta(seconds=interval_s)
    query = sa.select(Server.id).where(sa.func.coalesce(Server.measured_at, Server.created_at) < cutoff)
    return list(db.session.scalars(query.order_by(Server.id)))
