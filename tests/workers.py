"""`flask worker` in its own processes, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, "FLASK_APP": "wsgi", **env}
        self.log_dir = log_dir
        self.procs: list[tuple[subprocess.Popen, object]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed in stop_all())
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", *args],
            env={**self.env, **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append((proc, log))
        return proc

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))

    def stop_all(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=30)
            log.close()
        self.procs.clear()


def worker_env(app, redis_url: str) -> dict[str, str]:
    config = app.config
    return {
        "DATABASE_URL": config["DATABASE_URL"],
        "REDIS_URL": redis_url,
        "SSH_KEY_PATH": config["SSH_KEY_PATH"],
        "RQ_QUEUE": config["RQ_QUEUE"],
        "SECRET_KEY": "test-secret",
        "SERVER_LOCK_TTL": str(config["SERVER_LOCK_TTL"]),
        "SWEEP_INTERVAL": "0.5",
    }
