"""One usage round at scale, over SSH to the test sshd. Prints one JSON object.

A server holds 10,000 mailboxes (3 messages each) and 1,000 websites whose access logs have
1,000,000 lines the round has not read. The round is timed as a worker runs it (collect_server
with the pooled SSH connection), and what crosses SSH is counted: the script sent, its output back.
A second round right after reads nothing new and shows the steady cost.

Run with `make bench` (as root: the round reads the files as the SSH user).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import data
from portal import create_app
from portal.extensions import db
from portal.models import Reading, Rollup, Route, Server, Website
from portal.orchestration import transports
from portal.orchestration.metering import rounds
from portal.orchestration.metering.rounds import collect_server
from portal.orchestration.ssh import POOL
from tests.testbed.sshd import Sshd

MAILBOXES = int(os.environ.get("BENCH_USAGE_MAILBOXES", "10000"))
SITES = int(os.environ.get("BENCH_USAGE_SITES", "1000"))
LOG_LINES = int(os.environ.get("BENCH_USAGE_LOG_LINES", "1000000"))
DOMAINS = 100
MESSAGES = 3
TARGET_S = 30.0
TARGET_BYTES = 10 * 1024 * 1024


class Counted:
    """What crosses SSH: the script on stdin, stdout and stderr back."""

    sent = received = 0

    def __init__(self, inner: transports.SSHTransport) -> None:
        self.inner = inner

    def run(self, script: str, timeout: float) -> transports.Result:
        result = self.inner.run(script, timeout)
        Counted.sent += len(script.encode())
        Counted.received += len(result.stdout.encode()) + len(result.stderr.encode())
        return result


def counting(original):  # type: ignore[no-untyped-def]
    def transport_for(server, config, **kw):  # type: ignore[no-untyped-def]
        return Counted(original(server, config, **kw))

    return transport_for


def server_settings(root: Path) -> dict:
    return {
        "mail_root": str(root / "vmail"),
        "web_home_root": str(root / "home"),
        "usage_state_dir": str(root / "usage-state"),
        "nginx_usage_log_dir": str(root / "nginx-logs"),
        "exec_timeout": 600,
    }


def seed(root: Path, sshd: Sshd) -> tuple[int, list[int]]:
    upgrade()
    [account_id] = data.accounts(["bench"])
    per_domain = MAILBOXES // DOMAINS
    for d in range(DOMAINS):
        data.mail(account_id, f"d{d}.bench.example", per_domain, 0)
    data.hosting(account_id, "w", SITES)
    server = Server(
        name="usage1",
        host=sshd.host,
        port=sshd.port,
        ssh_user=sshd.user,
        host_key=sshd.host_key_line,
        settings=server_settings(root),
    )
    db.session.add(server)
    db.session.flush()
    for backend in ("dovecot", "unix", "nginx"):
        db.session.add(Route(backend=backend, server_id=server.id))
    db.session.commit()
    sites = list(db.session.scalars(sa.select(Website.id).order_by(Website.id)))
    return server.id, sites


def files(root: Path, sites: list[int]) -> None:
    """Maildirs with messages, and each site's log with its share of the new lines."""
    vmail = root / "vmail"
    body = b"From: a@example.net\r\nSubject: bench\r\n\r\n" + b"x" * 2000 + b"\r\n"
    per_domain = MAILBOXES // DOMAINS
    for d in range(DOMAINS):
        for i in range(per_domain):
            cur = vmail / f"d{d}.bench.example" / f"m{i}" / "Maildir" / "cur"
            cur.mkdir(parents=True)
            for n in range(MESSAGES):
                (cur / f"{n}.bench:2,S").write_bytes(body)
    logs = root / "nginx-logs"
    logs.mkdir()
    per_site = LOG_LINES // len(sites)
    start = int(time.time()) - 3 * 3600  # three hours of traffic
    for site in sites:
        lines = "".join(f"{start + (n * 10800) // per_site}.123 {512 + n % 4096} 200\n" for n in range(per_site))
        (logs / f"{site}.log").write_text(lines)
    for path in (root, vmail, logs):
        os.chmod(path, 0o755)  # noqa: S103 (the SSH user reads them, as a server's services would)


def main() -> None:
    logging.disable(logging.INFO)
    root = Path(tempfile.mkdtemp(prefix="hostdeck-bench-usage-"))
    root.chmod(0o755)
    with Sshd(root / "sshd") as sshd:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite3'}",
                "REDIS_URL": "",
                "SSH_KEY_PATH": str(sshd.client_key_path),
                "SECRET_KEY": "bench",
                "LOG_LEVEL": "WARNING",
            }
        )
        with app.app_context():
            server_id, sites = seed(root, sshd)
            files(root, sites)
            original = transports.transport_for
            # rounds.py looked transport_for up at import: count there.
            rounds.transport_for = counting(original)  # type: ignore[assignment]
            started = time.perf_counter()
            first = collect_server(server_id, force=True)
            first_s = time.perf_counter() - started
            first_bytes = Counted.sent + Counted.received
            sent, received = Counted.sent, Counted.received
            Counted.sent = Counted.received = 0
            started = time.perf_counter()
            second = collect_server(server_id, force=True)
            second_s = time.perf_counter() - started
            requests = db.session.scalar(
                sa.select(sa.func.sum(Rollup.value)).where(Rollup.metric == "requests", Rollup.period == "day")
            )
            readings = db.session.scalar(sa.select(sa.func.count()).select_from(Reading))
        POOL.close_all()
    figures = {
        "mailboxes": MAILBOXES,
        "sites": SITES,
        "new_log_lines": LOG_LINES,
        "round_s": round(first_s, 3),
        "round_state": first.get("state"),
        "values_stored": first.get("values"),
        "ssh_bytes": first_bytes,
        "ssh_bytes_sent": sent,
        "ssh_bytes_received": received,
        "requests_counted": int(requests or 0),
        "readings": int(readings or 0),
        "second_round_s": round(second_s, 3),
        "second_round_state": second.get("state"),
        "second_round_ssh_bytes": Counted.sent + Counted.received,
    }
    figures["targets_met"] = {
        "round_s < 30": first_s < TARGET_S,
        "ssh_bytes < 10 MB": first_bytes < TARGET_BYTES,
        "every new log line counted": figures["requests_counted"] == (LOG_LINES // SITES) * SITES,
    }
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
