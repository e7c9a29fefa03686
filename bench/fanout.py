"""Scale-out: 200 managed servers, 20,000 mailboxes, 1 and then 4 `flask worker` processes.

`python -m bench.fanout [DATABASE_URL]` (make bench; as root: it starts sshd, Dovecot and Redis on
loopback). The database (hostdeck_fanout by default) is dropped and refilled before each run, and
every server's files are written afresh (bench/fleet.py), so both runs start from the same state.

Each run measures, with the workers RQ SimpleWorkers and their sweepers, as in production:
- resync: staff resync every server, one click each, until every operation is applied;
- changes: 1,000 mailbox password changes, spread over the servers' accounts;
- backlog: 1,000 more changes, the same way, but recorded while the workers are stopped (SIGSTOP),
  then the workers go on (SIGCONT): how fast they drain a queue that is full, with no clicking to
  wait for. Not a target's figure: it shows what the workers can do when the clicks are not the limit;
- suspension: the reseller suspends its 200 sub-accounts, one click each, until applied.

The clicks come from clients: separate processes (spawned, each with its own app and database
connections), each a person at a browser clicking one thing after another, their clicks going
through the service layer with one commit each, as a web request makes them. The clients are
started and connected before a phase's clock starts, and each takes every n-th item, so each spreads
its clicks over the servers. How many click at once in each phase (FANOUT_CLIENTS):
- changes: 4 by default, as the many users of a portal change their passwords at the same time. One
  process clicking 1,000 changes in turn measured its own clicking (70-110 ms a click), not the workers;
- resync: 4 by default, as staff may resync servers from several places; with FANOUT_CLIENTS=1 the
  same phase measures one person clicking through all 200;
- suspension: 1, always: it is one reseller clicking through its own list, and that is what the
  suspension target is about. Its recording time is reported apart from its wall time.

For every phase: the wall time from the first click until every operation is applied (the figure the
resync and suspension targets use), the recording time (until the last click returned) and each
click's duration, the operations per second over the wall time, and the workers' own throughput:
operations applied per second between the first script starting and the last finishing (the figure
the 4-vs-1 speedup target uses, on the changes phase). For the changes, the p50/p95 from the change's
record to its apply (operation created_at to its log's finished_at). And for the run: each worker's
peak memory (VmHWM) and the SSH connections sshd accepted (its "Accepted publickey" log lines),
counted outside the portal. Prints one JSON object.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from rq import Worker

from bench import fleet
from portal import create_app
from portal.extensions import db
from portal.models import Account, BackendLog, Mailbox, Operation, OpState, Server, User
from portal.orchestration.queue import queue
from portal.security.scoping import Actor
from portal.services.mailboxes import change_mailbox_password
from portal.services.orchestration import resync_server
from portal.services.resellers import suspend_sub_account
from tests.testbed.dovecot import Dovecot
from tests.testbed.redis_server import RedisServer
from tests.testbed.sshd import Sshd
from tests.workers import Workers

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hostdeck_fanout"
SECRET_KEY = "bench-fanout"
QUEUE = "hostdeck-fanout"
STAFF, RESELLER = "staff@fanout.example", "reseller@fanout.example"
# Smaller figures for a quick try: FANOUT_SERVERS=10 FANOUT_MAILBOXES=1000 FANOUT_CHANGES=50.
SERVERS = int(os.environ.get("FANOUT_SERVERS", "200"))
MAILBOXES = int(os.environ.get("FANOUT_MAILBOXES", "20000"))
CHANGES = int(os.environ.get("FANOUT_CHANGES", "1000"))
WORKERS = [int(n) for n in os.environ.get("FANOUT_WORKERS", "1,4").split(",")]  # the runs, in order
_clients = int(os.environ.get("FANOUT_CLIENTS", "4"))
CLIENTS = {
    "resync": _clients,
    "changes": _clients,
    "backlog": _clients,
    "suspension": 1,
}  # who clicks at once, per phase
PHASES = ("resync", "changes", "backlog", "suspension")
WAIT_S = 900
TARGETS = {"resync_s": 60, "suspension_s": 60, "speedup": 1.8, "worker_mb": 150}


def bench_app(url: str, redis_url: str, key_path: str):
    return create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "SSH_KEY_PATH": key_path,
            "SECRET_KEY": SECRET_KEY,
            "RQ_QUEUE": QUEUE,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOG_LEVEL": "WARNING",
        }
    )


def actor(email: str) -> Actor:
    return Actor(user=db.session.scalars(sa.select(User).where(User.email == email)).one())


def newest_op() -> int:
    return db.session.scalar(sa.select(sa.func.max(Operation.id))) or 0


# One click of each phase: (who, what). A client commits after each, as a request does.
def click_resync(who: Actor, server_id: int) -> None:
    resync_server(who, server_id)


def click_change(who: Actor, item: tuple[int, int]) -> None:
    box_id, k = item
    change_mailbox_password(who, box_id, f"{fleet.PASSWORD}-{k}")


def click_suspend(who: Actor, account_id: int) -> None:
    suspend_sub_account(who, account_id, True)


CLICKS: dict[str, Callable] = {
    "resync": click_resync,
    "changes": click_change,
    "backlog": click_change,
    "suspension": click_suspend,
}


def client(config: dict, phase_name: str, items: list, ready, go, done) -> None:
    """One person clicking: connects first, says so, waits for the start, then clicks its items in
    turn. Sends back each click's duration and any click that failed (a failed click rolls back)."""
    logging.disable(logging.INFO)
    app = bench_app(**config)
    click = CLICKS[phase_name]
    with app.app_context():
        actors = {email: actor(email) for email in {email for email, _ in items}}
        db.session.commit()
        ready.put(os.getpid())
        go.wait()
        times: list[float] = []
        errors: list[str] = []
        for email, item in items:
            started = time.perf_counter()
            try:
                click(actors[email], item)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 (reported in the JSON, the bench goes on)
                db.session.rollback()
                errors.append(f"{type(error).__name__}: {error}"[:300])
            times.append(time.perf_counter() - started)
        db.session.remove()
        done.put({"times": times, "errors": errors})


def clicks_from(config: dict, phase_name: str, items: list, count: int):
    """Starts `count` clients, each with every count-th item; returns a start() that lets them
    click and waits for the last, returning their durations and errors."""
    ctx = multiprocessing.get_context("spawn")  # no connection of ours is carried into a client
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=client, args=(config, phase_name, items[i::count], ready, go, done)) for i in range(count)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)

    def start() -> dict:
        go.set()
        results = [done.get(timeout=WAIT_S) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        times = sorted(t for r in results for t in r["times"])
        errors = [e for r in results for e in r["errors"]]
        return {
            "clients": count,
            "clicks": len(times),
            "click_p50_s": round(statistics.median(times), 3),
            "click_p95_s": round(quantile95(times), 3),
            "failed_clicks": len(errors),
            "errors": errors[:5],
        }

    return start


def quantile95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) > 1 else samples[0]


def wait_applied(since: int, workers: Workers) -> dict[str, int]:
    """Until no operation after `since` is pending or running; then how many are in each state."""
    deadline = time.monotonic() + WAIT_S
    busy = (OpState.PENDING, OpState.RUNNING)
    while True:
        db.session.rollback()  # a fresh snapshot each look
        left = db.session.scalar(sa.select(sa.func.count()).where(Operation.id > since, Operation.state.in_(busy)))
        if not left:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} operations still waiting after {WAIT_S} s:\n" + workers.logs()[-3000:])
        time.sleep(0.1)
    rows = db.session.execute(
        sa.select(Operation.state, sa.func.count()).where(Operation.id > since).group_by(Operation.state)
    )
    return {str(state): n for state, n in rows}


def phase(name: str, config: dict, items: list, workers: Workers, sshd: Sshd, stopped: tuple[int, ...] = ()) -> dict:
    """Clicks the items from the phase's clients, until every operation is applied. The workers in
    `stopped` are stopped while the clients click, and go on once the last click returned."""
    start = clicks_from(config, name, items, CLIENTS[name])
    since, accepted = newest_op(), accepted_count(sshd)
    db.session.commit()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    started = time.perf_counter()
    try:
        clicking = start()
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    recorded = time.perf_counter() - started
    states = wait_applied(since, workers)
    wall = time.perf_counter() - started
    applied = states.get(str(OpState.APPLIED), 0)
    figures = {
        "wall_s": round(wall, 2),
        "record_s": round(recorded, 2),
        **({"drain_s": round(wall - recorded, 2)} if stopped else {}),
        **clicking,
        "operations": sum(states.values()),
        "states": states,
        "ops_per_s": round(applied / wall, 1),
        **workers_throughput(since, applied),
        "ssh_connections_opened": accepted_count(sshd) - accepted,
    }
    if name == "changes":
        figures.update(click_to_applied(since))
    return figures


def workers_throughput(since: int, applied: int) -> dict:
    """The workers' own pace: operations applied per second from the first of the phase's scripts
    starting to the last finishing; and the scripts' summed run time, over all workers."""
    logs = sa.select(Operation.backend_log_id).where(Operation.id > since)
    first, last, scripts, busy = db.session.execute(
        sa.select(
            sa.func.min(BackendLog.started_at),
            sa.func.max(BackendLog.finished_at),
            sa.func.count(),
            sa.func.sum(sa.extract("epoch", BackendLog.finished_at - BackendLog.started_at)),
        ).where(BackendLog.id.in_(logs))
    ).one()
    window = (last - first).total_seconds()
    return {
        "scripts": scripts,
        "workers_window_s": round(window, 2),
        "workers_ops_per_s": round(applied / window, 1),
        "scripts_run_s": round(float(busy), 1),
    }


def click_to_applied(since: int) -> dict:
    """Per changed mailbox: from its first operation's record to the last of its logs finishing."""
    rows = db.session.execute(
        sa.select(Operation.object_id, sa.func.min(Operation.created_at), sa.func.max(BackendLog.finished_at))
        .join(BackendLog, Operation.backend_log_id == BackendLog.id)
        .where(Operation.id > since, Operation.object_type == "Mailbox")
        .group_by(Operation.object_id)
    ).all()
    samples = sorted((done - made).total_seconds() for _, made, done in rows)
    return {
        "click_to_applied_p50_s": round(statistics.median(samples), 3),
        "click_to_applied_p95_s": round(quantile95(samples), 3),
        "click_to_applied_max_s": round(samples[-1], 3),
    }


def resync_items() -> list:
    return [(STAFF, s) for s in db.session.scalars(sa.select(Server.id).order_by(Server.id))]


def suspend_items(reseller_id: int) -> list:
    ids = db.session.scalars(sa.select(Account.id).where(Account.parent_id == reseller_id).order_by(Account.id))
    return [(RESELLER, a) for a in ids]


def change_items(shape: fleet.Shape, first: int = 0) -> list:
    """Mailbox k of the changes is in sub-account k % servers: the servers take turns, changed by
    the owner of its account. The changes are k = first ... first + CHANGES - 1."""
    emails = sa.select(User.account_id, User.email).where(User.email.like("c%@fanout.example"))
    owners = dict(db.session.execute(emails).tuples().all())
    boxes = db.session.execute(sa.select(Mailbox.id, Mailbox.account_id).order_by(Mailbox.id)).all()
    per = shape.per_account
    picked = [boxes[(k % shape.servers) * per + (k // shape.servers) % per] for k in range(first, first + CHANGES)]
    return [(owners[account_id], (box_id, k)) for k, (box_id, account_id) in enumerate(picked)]


def holds_last_state(dovecot: Dovecot) -> bool:
    """The real Dovecot (the first server's) holds m0@sub0.example suspended, with the password the
    first change gave it."""
    user = f"m0@{fleet.domain_name(0)}"
    line = next(x for x in dovecot.passwd_file.read_text().splitlines() if x.startswith(user + ":"))
    check = dovecot.doveadm("pw", "-t", line.split(":")[1], "-p", f"{fleet.PASSWORD}-0")
    return check.returncode == 0 and "nologin=y" in line


def accepted_count(sshd: Sshd) -> int:
    return sshd.log_text().count("Accepted publickey")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for {pid}")


def wait_workers(workers: Workers, count: int) -> None:
    deadline = time.monotonic() + 60
    while Worker.count(queue=queue()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start:\n" + workers.logs()[-3000:])
        time.sleep(0.2)


def run(url: str, root: Path, shape: fleet.Shape, count: int, sshd: Sshd, dovecot: Dovecot, redis: RedisServer):
    redis.flushall()
    config = {"url": url, "redis_url": redis.url, "key_path": str(sshd.client_key_path)}
    app = bench_app(**config)
    logs = root / f"workers-{count}"
    logs.mkdir()
    env = {"DATABASE_URL": url, "REDIS_URL": redis.url, "SSH_KEY_PATH": str(sshd.client_key_path)}
    workers = Workers({**env, "SECRET_KEY": SECRET_KEY, "RQ_QUEUE": QUEUE, "LOG_LEVEL": "WARNING"}, logs)
    with app.app_context():
        ids = fleet.seed(url, root, shape, sshd, dovecot)
        procs = [workers.start() for _ in range(count)]
        try:
            wait_workers(workers, count)
            accepted = accepted_count(sshd)
            figures = {
                "workers": count,
                "resync": phase("resync", config, resync_items(), workers, sshd),
                "changes": phase("changes", config, change_items(shape), workers, sshd),
                "backlog": phase(
                    "backlog", config, change_items(shape, CHANGES), workers, sshd, tuple(p.pid for p in procs)
                ),
                "suspension": phase("suspension", config, suspend_items(ids["reseller"]), workers, sshd),
            }
            figures["ssh_connections_opened"] = accepted_count(sshd) - accepted
            figures["dovecot_holds_the_last_state"] = holds_last_state(dovecot)
            figures["worker_peak_mb"] = [peak_mb(p.pid) for p in procs]
            print(json.dumps(figures), file=sys.stderr, flush=True)  # each run as it ends: they are long
        finally:
            workers.stop_all()
            db.session.remove()
            db.engine.dispose()
    return figures


def target(figure: str, values: list, met: bool) -> dict:
    return {"figure": figure, "values": values, "met": met}


def targets(shape: fleet.Shape, runs: list[dict]) -> dict:
    one, four = runs[0], runs[-1]
    speedups = {p: round(four[p]["workers_ops_per_s"] / one[p]["workers_ops_per_s"], 2) for p in PHASES}
    walls = {p: [r[p]["wall_s"] for r in runs] for p in ("resync", "suspension")}
    memory = [mb for r in runs for mb in r["worker_peak_mb"]]
    connections = [r["ssh_connections_opened"] for r in runs]
    states = {str(OpState.APPLIED), str(OpState.SUPERSEDED)}
    return {
        "speedup_by_phase": speedups,
        "speedup_by_phase_over_wall": {p: round(four[p]["ops_per_s"] / one[p]["ops_per_s"], 2) for p in PHASES},
        f"resync under {TARGETS['resync_s']} s": target(
            "runs[].resync.wall_s", walls["resync"], all(s < TARGETS["resync_s"] for s in walls["resync"])
        ),
        f"suspension under {TARGETS['suspension_s']} s": target(
            "runs[].suspension.wall_s",
            walls["suspension"],
            all(s < TARGETS["suspension_s"] for s in walls["suspension"]),
        ),
        f"{four['workers']} workers at least {TARGETS['speedup']}x the ops/s of {one['workers']}": target(
            "changes.workers_ops_per_s, last run over first (speedup_by_phase.changes)",
            [speedups["changes"]],
            speedups["changes"] >= TARGETS["speedup"],
        ),
        f"each worker under {TARGETS['worker_mb']} MB": target(
            "runs[].worker_peak_mb (VmHWM)", memory, all(mb < TARGETS["worker_mb"] for mb in memory)
        ),
        "connections opened <= servers x workers": target(
            "runs[].ssh_connections_opened (sshd's Accepted publickey lines)",
            connections,
            all(c <= shape.servers * r["workers"] for c, r in zip(connections, runs, strict=True)),
        ),
        "every operation applied": target(
            "runs[].<phase>.states all applied or superseded, no failed click",
            [],
            all(set(r[p]["states"]) <= states and not r[p]["failed_clicks"] for r in runs for p in PHASES),
        ),
    }


def main(url: str = URL) -> dict:
    logging.disable(logging.INFO)
    shape = fleet.Shape(SERVERS, MAILBOXES)
    root = Path(tempfile.mkdtemp(prefix="hostdeck-fanout-"))
    root.chmod(0o755)
    with Sshd(root / "sshd") as sshd, Dovecot(root / "dovecot") as dovecot, RedisServer(root / "redis") as redis:
        runs = [run(url, root, shape, count, sshd, dovecot, redis) for count in WORKERS]
        dovecot.cleanup()
    return {
        "servers": shape.servers,
        "mailboxes": shape.mailboxes,
        "changes": CHANGES,
        "clients": CLIENTS,
        "runs": runs,
        "targets": targets(shape, runs),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else URL), indent=2))
