"""Metrics across processes, as production runs them: gunicorn with 2 workers and a `flask worker`, all
writing into one PROMETHEUS_MULTIPROC_DIR. A scrape of the web adds up what every process counted: the
requests either gunicorn worker answered, the worker's applies and its SSH connections. The worker logs
one JSON object a line (LOG_FORMAT=json), with the job and the server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from portal.models import Status
from tests.helpers import mailbox, new_mailbox, wait_for
from tests.testbed.ports import free_port, wait_for_port
from tests.workers import ROOT, worker_env

TOKEN = "scrape-token-for-the-test"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# How the lead's deploy/gunicorn.conf.py wires the hook in.
GUNICORN_CONF = "from portal.orchestration.metrics import child_exit  # noqa: F401\n"


def get(url: str, token: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback http)
        return reply.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pids_counting(folder: Path) -> set[str]:
    return {m.group(1) for p in folder.glob("counter_*.db") if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))}


def test_one_scrape_sums_every_process(app, web, make_account, mail_server, dovecot, workers, redis_server, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {
        **worker_env(app, redis_server.url),
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
    }
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(GUNICORN_CONF)
    port = free_port()
    web_log = (tmp_path / "gunicorn.log").open("wb")
    gunicorn = subprocess.Popen(
        [GUNICORN, "-c", str(conf), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        env={**workers.env, **env},
        cwd=ROOT,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, 30)
        base = f"http://127.0.0.1:{port}"
        asked = 0
        # Each request on a new connection, until both gunicorn workers have answered some.
        while asked < 20 or len(pids_counting(folder)) < 2:
            assert asked < 500, "one gunicorn worker answered every request"
            assert json.loads(get(f"{base}/healthz")) == {"status": "ok"}
            asked += 1

        make_account("Acme", domains=("acme.test",))
        web.login("acme@owner.test")
        workers.start(PROMETHEUS_MULTIPROC_DIR=str(folder), LOG_FORMAT="json")
        for name in ("alice", "bob"):
            new_mailbox(web, name)
            wait_for(lambda n=name: (m := mailbox(f"{n}@acme.test")) is not None and m.status == Status.APPLIED)

        found = samples(get(f"{base}/metrics", TOKEN))
        assert found[("hostdeck_http_requests_total", (("endpoint", "health.healthz"), ("status", "200")))] == asked
        assert found[("hostdeck_apply_duration_seconds_count", (("backend", "dovecot"),))] == 2
        assert found[("hostdeck_apply_duration_seconds_sum", (("backend", "dovecot"),))] > 0
        assert found[("hostdeck_ssh_connections_opened_total", (("server", "mail1"),))] == 1
        assert found[("hostdeck_ssh_connections_reused_total", (("server", "mail1"),))] == 1
        assert found[("hostdeck_operations", (("state", "applied"),))] == 2
        assert found[("hostdeck_queue_jobs", ())] == 0
        for wrong in (None, "not-the-token"):
            try:
                get(f"{base}/metrics", wrong)
            except urllib.error.HTTPError as refused:
                assert refused.code == 401
            else:
                raise AssertionError("the metrics answered without the token")
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
        web_log.close()

    status = subprocess.run(
        [sys.executable, "-m", "flask", "orchestration", "status"],
        env={**workers.env, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "SSH connections: 1 opened, 1 reused" in status
    assert "applies with dovecot: 2," in status
    assert "operations: 0 pending, 0 running, 2 applied, 0 failed, 0 superseded" in status

    workers.stop_all()
    lines = [line for line in workers.logs().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    applied = [r for r in records if r["logger"] == "portal.orchestration.jobs"]
    assert len(applied) == 2
    for record in applied:
        assert re.fullmatch(r"server mail1: log \d+ SUCCESS \(1 changes, job [0-9a-f-]{36}\)", record["message"])
        assert record["server"] == "mail1" and record["job_id"] in record["message"]
        assert record["level"] == "INFO" and record["time"].endswith("+00:00")
    assert "setup plugin" not in (tmp_path / "gunicorn.log").read_text()
