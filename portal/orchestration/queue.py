"""The RQ queue jobs go through, and the marker that keeps one job waiting per server."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def queue(app: Flask | None = None) -> Queue | None:
    """The app's queue on REDIS_URL; None without Redis (the demo: jobs run in the web process)."""
    app = app or current_app
    url = app.config["REDIS_URL"]
    if not url:
        return None
    if "hostdeck.queue" not in app.extensions:
        conn = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        app.extensions["hostdeck.queue"] = Queue(app.config["RQ_QUEUE"], connection=conn, serializer=JSONSerializer)
    found: Queue = app.extensions["hostdeck.queue"]
    return found


def queued_key(server_id: int) -> str:
    """Set while a job for the server waits in the queue."""
    return f"hostdeck:queued:{server_id}"
