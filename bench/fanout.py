"""Scale-out: 200 managed servers, 20,000 mailboxes, 1 and then 4 `flask worker` processes.

`python -m bench.fanout [DATABASE_URL]` (make bench; as root: it starts sshd, Dovecot and Redis on
loopback). The database (hostdeck_fanout by default) is dropped and refilled before each run, and
every server's files are written afresh (bench/fleet.py), so both runs start from the same state.

Each run measures, with the workers RQ SimpleWorkers and their sweepers, as in production:
- resync: staff resync every server, one click each, until every operation is applied;
- changes: 1,000 mailbox password changes through the service layer (one commit each, as a web
  request makes them), spread over the servers: wall time, operations applied per second, and the
  p95 from the change's record to its apply (operation created_at to its log's finished_at);
- suspension: the reseller suspends its 200 sub-accounts, one click each, until applied.
And for the run: each worker's peak memory (VmHWM) and the SSH connections sshd accepted (its
"Accepted publickey" log lines), counted outside the portal. Prints one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
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
# Smaller figures for a quick try: FANOUT_SERVERS=10 FANOUT_MAILBOXES=1000 FANOUT_CHANGES=50.
SERVERS = int(os.environ.get("FANOUT_SERVERS", "200"))
MAILBOXES = int(os.environ.get("FANOUT_MAILBOXES", "20000"))
CHANGES = int(os.environ.get("FANOUT_CHANGES", "1000"))
WORKERS = [int(n) for n in os.environ.get("FANOUT_WORKERS", "1,4").split(",")]  # the runs, in order
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


def phase(name: str, act, workers: Workers, sshd: Sshd) -> dict:
    since, accepted = newest_op(), accepted_count(sshd)
    started = time.perf_counter()
    clicks = act()
    recorded = time.perf_counter() - started
    states = wait_applied(since, workers)
    wall = time.perf_counter() - started
    applied = states.get(str(OpState.APPLIED), 0)
    scripts = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Operation.backend_log_id))).where(Operation.id > since)
    )
    figures = {
        "wall_s": round(wall, 2),
        "record_s": round(recorded, 2),
        "clicks": clicks,
        "operations": sum(states.values()),
        "states": states,
        "scripts": scripts,
        "ops_per_s": round(applied / wall, 1),
        "ssh_connections_opened": accepted_count(sshd) - accepted,
    }
    if name == "changes":
        figures.update(click_to_applied(since))
    return figures


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
        "click_to_applied_p95_s": round(statistics.quantiles(samples, n=20)[18], 3),
        "click_to_applied_max_s": round(samples[-1], 3),
    }


def resync_all() -> int:
    staff = actor("staff@fanout.example")
    ids = db.session.scalars(sa.select(Server.id).order_by(Server.id)).all()
    for server_id in ids:
        resync_server(staff, server_id)
        db.session.commit()  # one click on "Resync server" each
    return len(ids)


def suspend_all(reseller_id: int) -> int:
    reseller = actor("reseller@fanout.example")
    ids = db.session.scalars(sa.select(Account.id).where(Account.parent_id == reseller_id).order_by(Account.id))
    count = 0
    for account_id in ids.all():
        suspend_sub_account(reseller, account_id, True)
        db.session.commit()
        count += 1
    return count


def change_passwords(shape: fleet.Shape) -> int:
    """Mailbox k of the changes is in sub-account k % servers: the servers take turns."""
    owners = {
        a: actor(email)
        for a, email in db.session.execute(
            sa.select(User.account_id, User.email).where(User.email.like("c%@fanout.example"))
        )
    }
    boxes = db.session.execute(sa.select(Mailbox.id, Mailbox.account_id).order_by(Mailbox.id)).all()
    per = shape.per_account
    picked = [boxes[(k % shape.servers) * per + (k // shape.servers) % per] for k in range(CHANGES)]
    for k, (box_id, account_id) in enumerate(picked):
        change_mailbox_password(owners[account_id], box_id, f"{fleet.PASSWORD}-{k}")
        db.session.commit()
    return len(picked)


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
    app = bench_app(url, redis.url, str(sshd.client_key_path))
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
                "resync": phase("resync", resync_all, workers, sshd),
                "changes": phase("changes", lambda: change_passwords(shape), workers, sshd),
                "suspension": phase("suspension", lambda: suspend_all(ids["reseller"]), workers, sshd),
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


def targets(shape: fleet.Shape, runs: list[dict]) -> dict:
    one, four = runs[0], runs[-1]
    speedup = four["changes"]["ops_per_s"] / one["changes"]["ops_per_s"]  # the target's figure
    met = {
        f"resync under {TARGETS['resync_s']} s": all(r["resync"]["wall_s"] < TARGETS["resync_s"] for r in runs),
        f"suspension under {TARGETS['suspension_s']} s": all(
            r["suspension"]["wall_s"] < TARGETS["suspension_s"] for r in runs
        ),
        f"{four['workers']} workers at least {TARGETS['speedup']}x the ops/s of 1": speedup >= TARGETS["speedup"],
        f"each worker under {TARGETS['worker_mb']} MB": all(
            mb < TARGETS["worker_mb"] for r in runs for mb in r["worker_peak_mb"]
        ),
        "connections opened <= servers x workers": all(
            r["ssh_connections_opened"] <= shape.servers * r["workers"] for r in runs
        ),
        "every operation applied": all(
            set(r[p]["states"]) <= {str(OpState.APPLIED), str(OpState.SUPERSEDED)}
            for r in runs
            for p in ("resync", "suspension", "changes")
        ),
    }
    # Not a target: the same ratio where the workers, not the one process recording, set the pace.
    speedups = {p: round(four[p]["ops_per_s"] / one[p]["ops_per_s"], 2) for p in ("resync", "changes", "suspension")}
    return {"speedup_by_phase": speedups, "met": met}


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
        "runs": runs,
        "targets": targets(shape, runs),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else URL), indent=2))
