"""The portal's Prometheus metrics, counted where things happen: requests in the web, applies and SSH
connections in the workers.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn, and every `flask worker` on the same machine), each
process writes its figures into files there and a scrape adds them up; without it, one process
counts for itself. The figures read at scrape time from the database and Redis (orchestration
/figures.py) are no counters at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROCESS_DIR:
    # prometheus_client writes there from the first metric on; a missing folder would stop the import.
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

REQUESTS = Counter(
    "hostdeck_http_requests", "Requests the web answered, by endpoint and status.", ["endpoint", "status"]
)
APPLY_SECONDS = Histogram(
    "hostdeck_apply_duration_seconds",
    "How long a server's script took, from building it to its outcome, under each backend it carried.",
    ["backend"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
# Labelled, so a process that never connects (a `flask` command) writes no file for them.
SSH_OPENED = Counter("hostdeck_ssh_connections_opened", "SSH connections a worker opened, by server.", ["server"])
SSH_REUSED = Counter(
    "hostdeck_ssh_connections_reused", "Scripts sent over an SSH connection kept from before, by server.", ["server"]
)


class _ThisProcess(Collector):
    """This process's own metrics (no PROMETHEUS_MULTIPROC_DIR)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def scrape(*extra: Collector) -> CollectorRegistry:
    """A registry for one scrape: every process's metrics (or this one's), and `extra` beside them."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    return registry


def child_exit(server: object, worker: Any) -> None:
    """gunicorn's child_exit hook (deploy/gunicorn.conf.py): a gunicorn worker that ends leaves its
    counters to the sum, and its live gauges out of it."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(worker.pid, MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]


def totals() -> dict[str, Any] | None:
    """What the processes counted, summed for a shell (`flask orchestration status`); None when each
    process counts only for itself (no PROMETHEUS_MULTIPROC_DIR), as a shell then sees nothing of them."""
    if not MULTIPROCESS_DIR:
        return None
    found: dict[str, Any] = {"requests": 0, "ssh_opened": 0, "ssh_reused": 0, "applies": {}}
    for family in scrape().collect():
        for sample in family.samples:
            if sample.name == "hostdeck_http_requests_total":
                found["requests"] += int(sample.value)
            elif sample.name == "hostdeck_ssh_connections_opened_total":
                found["ssh_opened"] += int(sample.value)
            elif sample.name == "hostdeck_ssh_connections_reused_total":
                found["ssh_reused"] += int(sample.value)
            elif sample.name in ("hostdeck_apply_duration_seconds_count", "hostdeck_apply_duration_seconds_sum"):
                backend = found["applies"].setdefault(sample.labels["backend"], {"count": 0, "seconds": 0.0})
                key = "count" if sample.name.endswith("_count") else "seconds"
                backend[key] += sample.value
    return found
