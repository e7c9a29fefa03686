"""The API's own document (/api/v1/openapi.json and its page), and the answer to paths no API route takes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json, render_template, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from portal.api.access import PUBLIC, scope
from portal.api.problems import answer_in_problems, from_http
from portal.extensions import csrf

blp = Blueprint("api_meta", __name__, url_prefix="/api/v1")
answer_in_problems(blp)
csrf.exempt(blp)


@blp.route("/openapi.json", endpoint="openapi")
@scope(PUBLIC)
def openapi() -> Response:
    document: dict[str, Any] = current_app.extensions["hostdeck.api"].spec.to_dict()
    return Response(json.dumps(document), mimetype="application/json")


@blp.route("/docs", endpoint="docs")
@scope(PUBLIC)
def docs() -> str:
    """The document drawn by Swagger UI, served from static/vendor (no CDN), in the pages' frame."""
    return render_template("api/docs.html")


def unrouted() -> Response | None:
    """A request under /api/v1 that no route takes (an unknown path, an id the id converter refuses, a
    method the path lacks): its 404 or 405 as a problem document, not the pages' HTML. Runs before
    every request (api.init_app), ahead of the dispatch that would raise the routing error."""
    error = request.routing_exception
    if error is None or not request.path.startswith("/api/"):
        return None
    assert isinstance(error, HTTPException)  # noqa: S101 (werkzeug's routing errors are HTTP errors)
    return from_http(error)
