"""Orchestration figures against the test sshd and Dovecot. Prints one JSON object.

Run with `make bench` (as root: it starts sshd and Dovecot on loopback).
Jobs are timed as a worker runs them: apply_server() with the worker's pooled
SSH connection, unless the figure is about fresh connections.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from portal.models import Account, Domain, Mailbox, Role, Route, Server, User
from portal.orchestration.jobs import apply_server
from portal.orchestration.ssh import POOL
from portal.security.passwords import hash_password
from portal.security.scoping import Actor
from portal.services.mailboxes import create_mailbox
from tests.testbed.dovecot import Dovecot
from tests.testbed.redis_server import RedisServer
from tests.testbed.sshd import Sshd
from tests.workers import Workers, worker_env

PASSWORD = "bench-password-1"
names = (f"u{i}" for i in itertools.count())


def setup(app, sshd: Sshd, dovecot: Dovecot) -> tuple[Actor, int, int]:
    upgrade()
    account = Account(name="Bench")
    user = User(email="bench@example.com", password_hash=hash_password(PASSWORD), role=Role.OWNER, account=account)
    domain = Domain(account=account, name="bench.example")
    server = Server(
        name="mail1",
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        settings={
            "dovecot_passwd_file": str(dovecot.passwd_file),
            "mail_root": str(dovecot.mail_root),
            "mail_uid": 5000,
            "mail_gid": 5000,
        },
    )
    db.session.add_all([account, user, domain, server, Route(backend="dovecot", server=server)])
    db.session.commit()
    return Actor(user=user), domain.id, server.id


def create(actor: Actor, domain_id: int, count: int = 1) -> None:
    for _ in range(count):
        create_mailbox(actor, local_part=next(names), domain_id=domain_id, password=PASSWORD, quota_mb=10)
    db.session.commit()


def timed_job(server_id: int) -> float:
    started = time.perf_counter()
    result = apply_server(server_id)
    took = time.perf_counter() - started
    if result.get("state") != "SUCCESS":
        from portal.models import BackendLog

        raise RuntimeError(f"{result}: {db.session.get(BackendLog, result['log']).stderr}")
    return took


def job_figures(app, actor, domain_id, server_id) -> dict:
    create(actor, domain_id)
    timed_job(server_id)  # warm up the pool and the caches
    single = statistics.median(timed_job(server_id) for _ in range(7) if create(actor, domain_id) is None)
    batches = []
    for _ in range(3):  # one batch is one sample: take the median of three
        create(actor, domain_id, 100)
        batches.append(timed_job(server_id))
    batch = statistics.median(batches)
    separate = 0.0
    for _ in range(100):
        create(actor, domain_id)
        separate += timed_job(server_id)
    pooled = statistics.mean(timed_job(server_id) for _ in range(10) if create(actor, domain_id) is None)
    app.config["SSH_REUSE_CONNECTIONS"] = False
    fresh = statistics.mean(timed_job(server_id) for _ in range(10) if create(actor, domain_id) is None)
    app.config["SSH_REUSE_CONNECTIONS"] = True
    return {
        "single_op_s": single,
        "batch_100_s": batch,
        "separate_100_s": separate,
        "pooled_job_s": pooled,
        "fresh_connection_job_s": fresh,
    }


def click_to_applied(app, redis_url: str, log_dir: Path, box_id: int, changes: int = 30) -> list[float]:
    """POST a password change, then poll the status endpoint as the page does, until applied.

    Runs outside any app context, so each request gets its own, as in production.
    """
    workers = Workers(worker_env(app, redis_url), log_dir)
    workers.start()
    client = app.test_client()
    token = lambda html: re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)  # noqa: E731
    client.post(
        "/login",
        data={
            "email": "bench@example.com",
            "password": PASSWORD,
            "csrf_token": token(client.get("/login").get_data(as_text=True)),
        },
    )
    form = client.get(f"/mailboxes/{box_id}").get_data(as_text=True)
    time.sleep(1.0)  # the worker is up and idle
    samples = []
    try:
        for i in range(changes):
            new = f"changed-password-{i:03d}"
            started = time.perf_counter()
            response = client.post(
                f"/mailboxes/{box_id}/password", data={"password": new, "confirm": new, "csrf_token": token(form)}
            )
            assert response.status_code == 302, response.status_code
            while client.get(f"/mailboxes/status?ids={box_id}").get_json()[str(box_id)]["status"] != "applied":
                if time.perf_counter() - started > 30:
                    raise RuntimeError("no apply within 30 s:\n" + workers.logs()[-2000:])
                time.sleep(0.005)
            samples.append(time.perf_counter() - started)
            time.sleep(0.2)  # idle worker again
    finally:
        workers.stop_all()
    return samples


def main() -> None:
    logging.disable(logging.INFO)
    root = Path(tempfile.mkdtemp(prefix="hostdeck-bench-"))
    root.chmod(0o755)
    with Sshd(root / "sshd") as sshd, Dovecot(root / "dovecot") as dovecot, RedisServer(root / "redis") as redis:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite3'}",
                "REDIS_URL": redis.url,
                "SSH_KEY_PATH": str(sshd.client_key_path),
                "SECRET_KEY": "bench",
                "LOG_LEVEL": "WARNING",
                "RQ_QUEUE": "hostdeck-bench",
            }
        )
        with app.app_context():
            actor, domain_id, server_id = setup(app, sshd, dovecot)
            figures = job_figures(app, actor, domain_id, server_id)
            box_id = db.session.scalar(sa.select(Mailbox.id).order_by(Mailbox.id))
        redis.flushall()  # the jobs enqueued above were run directly
        POOL.close_all()
        samples = click_to_applied(app, redis.url, root, box_id)
        dovecot.cleanup()
    quantiles = statistics.quantiles(samples, n=20)
    figures.update(
        {
            "click_to_applied_p50_s": statistics.median(samples),
            "click_to_applied_p95_s": quantiles[18],
            "click_to_applied_samples": len(samples),
        }
    )
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    figures["targets_met"] = {
        "batch_100_s <= 2 x single_op_s": figures["batch_100_s"] <= 2 * figures["single_op_s"],
        "pooled_job_s <= 0.6 x fresh_connection_job_s": figures["pooled_job_s"]
        <= 0.6 * figures["fresh_connection_job_s"],
        "click_to_applied_p50_s <= 1.0": figures["click_to_applied_p50_s"] <= 1.0,
    }
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
