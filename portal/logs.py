"""The portal's log lines: text for people, or one JSON object a line (LOG_FORMAT=json) for a log
collector. Each says what it belongs to: a web request's id (X-Request-ID, taken from the request
when it is a sane token, else made, and sent back), or a worker's job (RQ's) and server (SERVER, set
by orchestration/jobs.py). It imports nothing of the portal: every layer may use it, and
portal/__init__.py imports it before anything imports alembic."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter
from rq import get_current_job

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
HEADER = "X-Request-ID"
# Alembic announces each of its autogenerate plugins at INFO whenever they load, the first time when
# Flask-Migrate imports it: quiet before that, so a host that set up logging first prints none either.
QUIET = ("alembic.runtime.plugins",)
for _name in QUIET:
    logging.getLogger(_name).setLevel(logging.WARNING)
# The server a job is applying; RQ knows the job, not the server.
SERVER: ContextVar[str | None] = ContextVar("hostdeck_server", default=None)


class Context(logging.Filter):
    """Puts the request id, or the RQ job id and the server, on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        job = get_current_job()
        if job is not None:
            record.job_id = job.id
        server = SERVER.get()
        if server is not None:
            record.server = server
        return True


class _Handler(logging.StreamHandler):
    """Ours on the root logger: a new app replaces it rather than adding a second."""


def configure(app: Flask) -> None:
    formats = {"text", "json"}
    chosen = app.config["LOG_FORMAT"].strip().lower()
    if chosen not in formats:
        raise RuntimeError(f"LOG_FORMAT must be text or json, not {app.config['LOG_FORMAT']!r}")
    handler = _Handler()
    handler.addFilter(Context())
    if chosen == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
                timestamp="time",
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    app.before_request(_take_request_id)
    app.after_request(_send_request_id)


def _take_request_id() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _send_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[HEADER] = g.request_id
    return response
