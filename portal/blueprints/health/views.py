"""/healthz, /readyz and /metrics: for load balancers, supervisors and Prometheus, not for people."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

from portal.blueprints.health import access, checks
from portal.extensions import db
from portal.orchestration import figures
from portal.orchestration.metrics import REQUESTS, scrape
from portal.security.roles import public

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
bp.record_once(lambda state: access.check_settings(state.app))  # a wrong METRICS_ALLOW stops the start


@bp.get("/healthz")
@public
def healthz() -> Response:
    """The process answers. It touches nothing else, so a slow database never restarts the web."""
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    report = checks.run(current_app)
    return jsonify(report.as_json()), 200 if report.ready else 503


@bp.get("/metrics")
@public
def metrics() -> Response:
    refused = access.refusal(current_app, request)
    if refused is not None:
        return refused
    try:
        found = figures.read()
    except SQLAlchemyError as exc:  # the processes' own figures still count
        log.warning("metrics: the database does not answer: %s", exc)
        found = None
    finally:
        db.session.rollback()
    # The format Prometheus asks for (Accept: OpenMetrics, or text); plain text 0.0.4 by default.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(scrape(figures.FiguresCollector(found))), content_type=content_type)


@bp.after_app_request
def count(response: Response) -> Response:
    # The endpoint, not the path: an unknown path is "unmatched", so no one can add series at will.
    REQUESTS.labels(endpoint=request.endpoint or "unmatched", status=str(response.status_code)).inc()
    return response
