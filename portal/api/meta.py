"""The API's own document: /api/v1/openapi.json, and the catch-all that answers unknown API paths."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json, render_template, request
from flask_smorest import Blueprint
from werkzeug.exceptions import MethodNotAllowed, NotFound

from portal.api.access import PUBLIC, scope
from portal.api.problems import answer_in_problems
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


@blp.route("/", endpoint="unknown_root", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@blp.route("/<path:rest>", endpoint="unknown", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@scope(PUBLIC)
def unknown(rest: str = "") -> Response:
    """A path under /api/v1 that no route has: 404, or 405 where the path is known for other methods."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        endpoint, _ = adapter.match(request.path, method=method)
        if not str(endpoint).startswith("api_meta.unknown"):
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()
